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

// SetPending stores pw as the account's pending password, durably, before a
// site is asked to change to it, and keeps it as a candidate (state
// submitted: a caller of SetPending does not say when it submits, so
// recovery probes it). It refuses to replace a different pending password:
// that one may already be live on the site, and only recovery may decide
// its fate (Promote, MarkCandidate, ResolveCandidates, RestorePrevious).
// Storing the same password again is a no-op, so retries are safe. A
// rotation uses [Store.AddCandidate] and [Store.MarkCandidate] instead.
func (s *Store) SetPending(ctx context.Context, name string, pw secret.String) error {
	_, err := s.addCandidate(ctx, name, pw, CandidateSubmitted)
	return err
}

// Pending returns the account's pending password (its live candidate), or
// ErrNoPending.
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

// Promote makes verified, a password that was just proven to sign in,
// current, and moves the current one to the history with reason, in one
// transaction. It is a compare-and-set: verified must be the account's
// pending password or one of its stored candidates, else it fails with
// [ErrNotCandidate] and changes nothing ([ErrNoPending] when there is no
// candidate at all). Every candidate is then cleared: the site has one
// password, and it is the one now current. It counts as a change on the
// site for the rate limit.
func (s *Store) Promote(ctx context.Context, name string, verified secret.String, reason string) error {
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("promote the pending password of %s: %w", name, err)
		}
		pw, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		id, cands, err := s.candidatesTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if !ok && len(cands) == 0 {
			return fmt.Errorf("promote: %w: %s", ErrNoPending, name)
		}
		match := ok && pw.Equal(verified)
		for _, c := range cands {
			match = match || c.Password.Equal(verified)
		}
		if verified.IsZero() || !match {
			return fmt.Errorf("promote the pending password of %s: %w", name, ErrNotCandidate)
		}
		if err := s.replace(ctx, tx, name, verified, reason, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM candidates WHERE account_id = ?`, id); err != nil {
			return fmt.Errorf("clear the candidates of %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET pending_password = NULL, pending_since = NULL WHERE id = ?`, id); err != nil {
			return fmt.Errorf("clear the pending password of %s: %w", name, err)
		}
		return nil
	})
}

// ReplacePassword sets a new current password that an administrator already
// set on the site, moving the current one to the history. A pending password
// is left alone.
func (s *Store) ReplacePassword(ctx context.Context, name string, pw secret.String, reason string) error {
	if pw.IsZero() {
		return fmt.Errorf("new password for %s is empty", name)
	}
	return s.tx(ctx, func(tx txn) error { return s.replace(ctx, tx, name, pw, reason, false) })
}

// replace moves the current password to the history and makes pw current;
// it also clears a pending password equal to pw.
func (s *Store) replace(ctx context.Context, tx txn, name string, pw secret.String, reason string, onSite bool) error {
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
