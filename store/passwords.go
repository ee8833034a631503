package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// Password returns the account's current password.
func (s *Store) Password(ctx context.Context, name string) (secret.String, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT password FROM accounts WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return secret.String{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return secret.String{}, fmt.Errorf("read password of %s: %w", name, err)
	}
	pw, err := s.sealer.OpenString(sealed, adPassword(name))
	if err != nil {
		return secret.String{}, fmt.Errorf("decrypt password of %s: %w", name, err)
	}
	return pw, nil
}

// pendingTx reads and decrypts the account's pending password inside tx;
// ok is false when there is none.
func (s *Store) pendingTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (pw secret.String, ok bool, err error) {
	var sealed []byte
	err = q.QueryRowContext(ctx, `SELECT pending_password FROM accounts WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return pw, false, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return pw, false, fmt.Errorf("read pending password of %s: %w", name, err)
	}
	if sealed == nil {
		return pw, false, nil
	}
	if pw, err = s.sealer.OpenString(sealed, adPending(name)); err != nil {
		return pw, false, fmt.Errorf("decrypt pending password of %s: %w", name, err)
	}
	return pw, true, nil
}

// SetPending stores pw as the account's pending password, durably, before a
// site is asked to change to it. It refuses to replace a different pending
// password: that one may already be live on the site, and only recovery may
// decide its fate (Promote, ReplacePending, RestorePrevious). Storing the same
// password again is a no-op, so retries are safe.
func (s *Store) SetPending(ctx context.Context, name string, pw secret.String) error {
	if pw.IsZero() {
		return fmt.Errorf("pending password for %s is empty", name)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if ok {
			if old.Equal(pw) {
				return nil
			}
			return fmt.Errorf("account %s already has a pending password since an unfinished rotation; recover it first", name)
		}
		now := millis(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET pending_password = ?, pending_since = ?, updated_at = ? WHERE name = ?`,
			s.sealer.SealString(pw, adPending(name)), now, now, name)
		if err != nil {
			return fmt.Errorf("store pending password of %s: %w", name, err)
		}
		return nil
	})
}

// Pending returns the account's pending password, or ErrNoPending.
func (s *Store) Pending(ctx context.Context, name string) (secret.String, error) {
	pw, ok, err := s.pendingTx(ctx, s.db, name)
	if err != nil {
		return secret.String{}, err
	}
	if !ok {
		return secret.String{}, fmt.Errorf("%w: %s", ErrNoPending, name)
	}
	return pw, nil
}

// Promote makes the pending password current and moves the current one to
// the history with reason, in one transaction. It counts as a change on the
// site for the rate limit.
func (s *Store) Promote(ctx context.Context, name, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		pw, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoPending, name)
		}
		return s.replace(ctx, tx, name, pw, reason, true)
	})
}

// ReplacePassword sets a new current password that an administrator already
// set on the site, moving the current one to the history. A pending password
// is left alone.
func (s *Store) ReplacePassword(ctx context.Context, name string, pw secret.String, reason string) error {
	if pw.IsZero() {
		return fmt.Errorf("new password for %s is empty", name)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.replace(ctx, tx, name, pw, reason, false) })
}

// replace moves the current password to the history and makes pw current;
// it also clears a pending password equal to pw.
func (s *Store) replace(ctx context.Context, tx *sql.Tx, name string, pw secret.String, reason string, onSite bool) error {
	var (
		id, setAt, seq int64
		curSealed      []byte
	)
	err := tx.QueryRowContext(ctx, `SELECT id, password, password_set_at, history_seq FROM accounts WHERE name = ?`, name).
		Scan(&id, &curSealed, &setAt, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("read password of %s: %w", name, err)
	}
	cur, err := s.sealer.OpenString(curSealed, adPassword(name))
	if err != nil {
		return fmt.Errorf("decrypt password of %s: %w", name, err)
	}
	now := millis(s.now())
	seq++
	if _, err := tx.ExecContext(ctx, `INSERT INTO password_history (account_id, seq, password, set_at, retired_at, reason, changed_on_site) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, seq, s.sealer.SealString(cur, adHistory(name, seq)), setAt, now, reason, onSite); err != nil {
		return fmt.Errorf("record password history of %s: %w", name, err)
	}
	// A pending password is cleared only when it is the one made current.
	p, hasPending, err := s.pendingTx(ctx, tx, name)
	if err != nil {
		return err
	}
	clearPending := hasPending && p.Equal(pw)
	q := `UPDATE accounts SET password = ?, password_set_at = ?, history_seq = ?, updated_at = ? WHERE id = ?`
	if clearPending {
		q = `UPDATE accounts SET password = ?, password_set_at = ?, history_seq = ?, updated_at = ?, pending_password = NULL, pending_since = NULL WHERE id = ?`
	}
	if _, err := tx.ExecContext(ctx, q, s.sealer.SealString(pw, adPassword(name)), now, seq, now, id); err != nil {
		return fmt.Errorf("store password of %s: %w", name, err)
	}
	return nil
}

// HistoryEntry is one previous password.
type HistoryEntry struct {
	Seq int64
	// Password is the previous password; it prints as [redacted].
	Password secret.String
	// SetAt is when it became current, RetiredAt when it was replaced.
	SetAt, RetiredAt time.Time
	// Reason says why it was replaced.
	Reason string
	// ChangedOnSite is set when the replacement was a change on the site
	// (a rotation), not an edit of the vault.
	ChangedOnSite bool
}

// History returns the account's previous passwords, newest first.
func (s *Store) History(ctx context.Context, name string) ([]HistoryEntry, error) {
	if _, err := s.accountID(ctx, name); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT h.seq, h.password, h.set_at, h.retired_at, h.reason, h.changed_on_site
FROM password_history h JOIN accounts a ON a.id = h.account_id
WHERE a.name = ? ORDER BY h.seq DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("read password history of %s: %w", name, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var (
			e             HistoryEntry
			sealed        []byte
			setAt, retire int64
		)
		if err := rows.Scan(&e.Seq, &sealed, &setAt, &retire, &e.Reason, &e.ChangedOnSite); err != nil {
			return nil, fmt.Errorf("read password history of %s: %w", name, err)
		}
		if e.Password, err = s.sealer.OpenString(sealed, adHistory(name, e.Seq)); err != nil {
			return nil, fmt.Errorf("decrypt password history of %s (entry %d): %w", name, e.Seq, err)
		}
		e.SetAt, e.RetiredAt = time.UnixMilli(setAt), time.UnixMilli(retire)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) accountID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return 0, fmt.Errorf("read account %s: %w", name, err)
	}
	return id, nil
}
