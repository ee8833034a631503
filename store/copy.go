package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// copyTables are the vault's tables in the order a copy writes them
// (parents before the rows that refer to them). account_locks is not
// copied: a lease belongs to a process on the old store.
var copyTables = []string{"vault_meta", "accounts", "password_history", "browser_state", "candidates", "runs", "audit_log"}

// identityTables have identity ids, whose sequences a copy moves past the
// copied rows.
var identityTables = []string{"accounts", "runs", "audit_log"}

// CopyReport is what CopyTo copied, table by table.
type CopyReport struct {
	Rows map[string]int
}

// CopyTo copies this vault, an SQLite file, into the empty PostgreSQL
// database at url, all or nothing: the schema and every row are written in
// one transaction. The rows go over as they are (ciphertexts included: the
// copy keeps the vault's identity, so its secrets open under the same
// master key and no plaintext is ever made). Then the copy is checked:
// row counts, the audit chain, and every account's password and pending
// password opening to the same value as here. A database that holds a
// vault already is refused (ErrExists). Last, in the same transaction
// that held the vault still through the copy, this file is marked moved
// (MarkMoved's rule, audited under actor): no change can land in it after
// the copy was taken and be missing from the copy.
func (s *Store) CopyTo(ctx context.Context, url string, key secret.MasterKey, actor string) (CopyReport, error) {
	if s.db.d.postgres {
		return CopyReport{}, errors.New("copy: the source must be an SQLite vault")
	}
	// The source's write lock, held through the copy and its check: no
	// rotation or edit in another process can come between the tables'
	// reads, nor after them unseen.
	src, err := s.db.begin(ctx)
	if err != nil {
		return CopyReport{}, fmt.Errorf("copy: lock the vault: %w", err)
	}
	defer src.Rollback()
	dst, err := openPostgresDB(ctx, url, nil)
	if err != nil {
		return CopyReport{}, err
	}
	rep := CopyReport{Rows: map[string]int{}}
	err = dst.tx(ctx, func(tx txn) error {
		if v, err := dst.schemaVersion(ctx, tx); err != nil {
			return err
		} else if v != 0 {
			return fmt.Errorf("%w: %s holds a vault; copy only into an empty database", ErrExists, Redact(url))
		}
		if _, err := tx.ExecContext(ctx, postgresBase); err != nil {
			return fmt.Errorf("copy: schema: %w", err)
		}
		for v := postgresBaseVersion; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, postgresMigrations[v]); err != nil {
				return fmt.Errorf("copy: schema version %d: %w", v+1, err)
			}
		}
		if err := dst.setSchemaVersion(ctx, tx, len(migrations)); err != nil {
			return err
		}
		for _, table := range copyTables {
			n, err := copyTable(ctx, src, tx, table)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			rep.Rows[table] = n
		}
		for _, table := range identityTables {
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), coalesce(max(id), 0) + 1, false) FROM `+table); err != nil {
				return fmt.Errorf("copy %s: id sequence: %w", table, err)
			}
		}
		return nil
	})
	dst.Close()
	if err != nil {
		return rep, err
	}
	if err := s.checkCopy(ctx, url, key, rep); err != nil {
		return rep, err
	}
	if err := s.markMoved(ctx, src, url, actor); err != nil {
		return rep, err
	}
	if err := src.Commit(); err != nil {
		return rep, fmt.Errorf("mark the vault moved: %w", err)
	}
	return rep, nil
}

// copyTable copies one table's rows, column by column as stored.
func copyTable(ctx context.Context, src, tx txn, table string) (int, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// checkCopy opens the copy under key and checks it against this vault.
func (s *Store) checkCopy(ctx context.Context, url string, key secret.MasterKey, rep CopyReport) error {
	dst, err := Open(ctx, url, key)
	if err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	defer dst.Close()
	for _, table := range copyTables {
		var n int
		if err := dst.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return fmt.Errorf("check the copy: %w", err)
		}
		if n != rep.Rows[table] {
			return fmt.Errorf("check the copy: %s holds %d rows, the vault %d", table, n, rep.Rows[table])
		}
	}
	if _, err := dst.VerifyAudit(ctx); err != nil {
		return fmt.Errorf("check the copy: audit log: %w", err)
	}
	accts, err := s.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if err := samePasswords(ctx, s, dst, a.Name); err != nil {
			return fmt.Errorf("check the copy: %s: %w", a.Name, err)
		}
	}
	return nil
}

// samePasswords checks that an account's password and its candidates (the
// pending one marked) open to the same values in both vaults.
func samePasswords(ctx context.Context, a, b *Store, name string) error {
	pa, err := a.Password(ctx, name)
	if err != nil {
		return err
	}
	pb, err := b.Password(ctx, name)
	if err != nil {
		return err
	}
	if pa.Reveal() != pb.Reveal() {
		return errors.New("the password differs")
	}
	ca, err := a.Candidates(ctx, name)
	if err != nil {
		return err
	}
	cb, err := b.Candidates(ctx, name)
	if err != nil {
		return err
	}
	if len(ca) != len(cb) {
		return fmt.Errorf("%d candidate passwords, the vault %d", len(cb), len(ca))
	}
	for i := range ca {
		if !ca[i].Password.Equal(cb[i].Password) || ca[i].State != cb[i].State || ca[i].Live != cb[i].Live {
			return fmt.Errorf("candidate %d differs", ca[i].Seq)
		}
	}
	return nil
}

// movedKey is the vault_meta row that says where a vault file was copied.
const movedKey = "moved_to"

// markMoved records in this vault file, in tx, that it was copied to url
// (without its password), and audits it: from then on Open refuses the
// file, so that no rotation changes a password the copy never learns of,
// until ReopenMoved.
func (s *Store) markMoved(ctx context.Context, tx txn, url, actor string) error {
	what := Redact(url) + " at " + s.now().UTC().Format(time.RFC3339)
	if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, movedKey, []byte(what)); err != nil {
		return fmt.Errorf("mark the vault moved: %w", err)
	}
	return s.appendAudit(ctx, tx, AuditEvent{Actor: actor, Action: "vault.moved", Outcome: "succeeded",
		Detail: "copied to " + what + "; this file no longer opens (rotator migrate --reopen)"})
}

// ReopenMoved makes a moved vault file usable again (opened with
// OpenMoved), and audits it.
func (s *Store) ReopenMoved(ctx context.Context, actor string) error {
	return s.tx(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM vault_meta WHERE key = ?`, movedKey); err != nil {
			return fmt.Errorf("reopen the vault: %w", err)
		}
		return s.appendAudit(ctx, tx, AuditEvent{Actor: actor, Action: "vault.reopened", Outcome: "succeeded",
			Detail: "the vault file opens again; changes made since it was moved are not in it"})
	})
}

// checkMoved refuses a vault file that was moved, unless OpenMoved.
func (s *Store) checkMoved(ctx context.Context) error {
	if s.db.d.postgres || s.openMoved {
		return nil
	}
	var to []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = ?`, movedKey).Scan(&to)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, err)
	}
	return fmt.Errorf("%w: %s was copied to %s: every change since is there, so this file is a backup from that moment; point store.url (ROTATOR_STORE) at the copy, or make the file usable again with `rotator migrate --reopen`", ErrMoved, s.path, to)
}
