package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/secret"
)

// PostgreSQL's schema has the tables and columns SQLite's migrations
// make, and every migration after PostgreSQL's base has its PostgreSQL
// twin: a column added to one engine only fails here, not in production.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	for v := postgresBaseVersion; v < len(migrations); v++ {
		if postgresMigrations[v] == "" {
			t.Errorf("migration %d has no PostgreSQL twin in postgresMigrations", v+1)
		}
	}
	ctx := context.Background()
	columns := func(s *Store, q string) map[string][]string {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string][]string{}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			m[table] = append(m[table], col)
		}
		for _, cols := range m {
			slices.Sort(cols)
		}
		return m
	}
	lite, err := Create(ctx, t.TempDir()+"/vault.db", secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Create(ctx, pgtest.URL(t), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	want := columns(lite, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
	got := columns(pg, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'vault_schema'`)
	for table, cols := range want {
		if !slices.Equal(got[table], cols) {
			t.Errorf("%s: PostgreSQL has %v, SQLite %v", table, got[table], cols)
		}
	}
	for table := range got {
		if want[table] == nil {
			t.Errorf("%s is only on PostgreSQL", table)
		}
	}
}

// The database's password never shows in an error, nor in Path; a
// database without a vault is not initialised, and a second init is
// refused.
func TestPostgresURLStaysSecret(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	parsed, _ := url.Parse(u)
	pass, _ := parsed.User.Password()
	if _, err := Open(ctx, u, secret.NewMasterKey()); !errors.Is(err, ErrNotInitialised) || strings.Contains(err.Error(), pass) {
		t.Errorf("open an empty database: %v", err)
	}
	wrong := strings.Replace(u, pass, pass[:8]+"wrong-secret-x", 1)
	_, err := Create(ctx, wrong, secret.NewMasterKey())
	if err == nil || strings.Contains(err.Error(), "wrong-secret-x") || strings.Contains(err.Error(), pass[:8]) {
		t.Errorf("wrong password: %v", err)
	}
	s, err := Create(ctx, u, secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if strings.Contains(s.Path(), pass) || !strings.HasPrefix(s.Path(), "postgres://rotator@") {
		t.Errorf("Path %s", s.Path())
	}
	if _, err := Create(ctx, u, secret.NewMasterKey()); !errors.Is(err, ErrExists) || strings.Contains(err.Error(), pass) {
		t.Errorf("second create: %v", err)
	}
}

// A holder's session ended while its process lives (a server restart,
// idle_session_timeout, pg_terminate_backend) is no dead holder: its
// leases stay its own, and it takes its lock again on a new session.
func TestHolderOutlivesItsSession(t *testing.T) {
	ctx := context.Background()
	url, key := pgtest.URL(t), secret.NewMasterKey()
	a, err := Create(ctx, url, key)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.AddAccount(ctx, testAccount("alice")); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, url, key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.LockAccount(ctx, "alice", "run-a", time.Hour); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := a.holder.conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.Exec(ctx, fmt.Sprintf(`SELECT pg_terminate_backend(%d)`, pid)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := b.LockAccount(ctx, "alice", "run-b", time.Hour); !errors.Is(err, ErrLocked) {
		t.Fatalf("a live holder's lease was taken once its session ended: %v", err)
	}
	// Within a beat or two the holder holds its lock again.
	id, _ := a.HolderID()
	for deadline := time.Now().Add(3 * holderBeat); ; time.Sleep(100 * time.Millisecond) {
		var held bool
		k := uint64(a.holder.key)
		b.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = ? AND objid::bigint = ?)`,
			int64(k>>32), int64(k&0xffffffff)).Scan(&held)
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("holder %s did not take its lock again", id)
		}
	}
}
