package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/rotator-pam/rotator/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The store suite runs on both engines (pgtest.Each): a test wrapped in
// eachBackend runs once on an SQLite file and once on a PostgreSQL database
// of the test run's own cluster, and every vault it makes with newVault,
// newVaultAt or location is on that engine.
func eachBackend(t *testing.T, f func(t *testing.T)) { pgtest.Each(t, f) }

func onPostgres(t *testing.T) bool { return pgtest.OnPostgres(t) }

func location(t *testing.T) string { return pgtest.Location(t) }

// killHolder lets go of s's holder lock as the death of its process would:
// the lock file's descriptor closed, or the advisory lock's connection
// ended.
func killHolder(s *Store) {
	if s.holder.conn != nil {
		// Its heartbeat stops, its session ends, and as much time has
		// passed as makes a heartbeat stale.
		s.holder.stopBeat()
		s.holder.stopBeat = nil
		pgReleaseHolder(s.holder.conn)
		s.holder.conn = nil
		s.db.Exec(`UPDATE holders SET heartbeat_at = 0 WHERE id = ?`, s.holder.id)
		return
	}
	s.holder.f.Close()
}

// setVersion writes the schema version behind the store's back.
func setVersion(t *testing.T, s *Store, v int) {
	t.Helper()
	q := fmt.Sprintf(`PRAGMA user_version = %d`, v)
	if s.db.d.postgres {
		q = fmt.Sprintf(`UPDATE vault_schema SET version = %d`, v)
	}
	if _, err := s.db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// dropAuditGuards drops the audit log's append-only triggers, as someone
// with write access to the database can.
func dropAuditGuards(t *testing.T, s *Store) {
	t.Helper()
	for _, trig := range []string{"audit_log_no_update", "audit_log_no_delete"} {
		q := "DROP TRIGGER " + trig
		if s.db.d.postgres {
			q += " ON audit_log"
		}
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// Exec, QueryRow and Query are the tests' way at the database behind the
// store's back, rebound like the store's own queries.
func (h dbh) Exec(q string, args ...any) (sql.Result, error) {
	return h.ExecContext(context.Background(), q, args...)
}

func (h dbh) QueryRow(q string, args ...any) *sql.Row {
	return h.QueryRowContext(context.Background(), q, args...)
}

func (h dbh) Query(q string, args ...any) (*sql.Rows, error) {
	return h.QueryContext(context.Background(), q, args...)
}
