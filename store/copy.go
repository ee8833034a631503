package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// vault already is refused (ErrExists).
func (s *Store) CopyTo(ctx context.Context, url string, key secret.MasterKey) (CopyReport, error) {
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
	return rep, s.checkCopy(ctx, url, key, rep)
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
