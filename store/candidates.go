package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// Errors of the candidate passwords.
var (
	// ErrPendingExists refuses a new candidate while another one is live
	// (pending or submitted): that one may be the site's password.
	ErrPendingExists = errors.New("account already has a pending password since an unfinished rotation; recover it first")
	// ErrCandidateRefused refuses to store again a password the site
	// refused.
	ErrCandidateRefused = errors.New("the site refused this password before")
	// ErrNotCandidate is a Promote of a value that is neither the pending
	// password nor a stored candidate.
	ErrNotCandidate = errors.New("the verified password is not the pending password nor a stored candidate")
	// ErrNoCandidate is a candidate number the vault does not hold.
	ErrNoCandidate = errors.New("no such candidate password")
)

// CandidateState is where a candidate password stands.
type CandidateState string

// The candidate states.
const (
	// CandidatePending: stored, and not on the site as far as is known:
	// never submitted, or proven not set since (another password signed
	// in after it was submitted). Recovery does not probe it.
	CandidatePending CandidateState = "pending"
	// CandidateSubmitted: the change form may have been submitted with it;
	// whether the site took it is unknown until a sign-in says.
	CandidateSubmitted CandidateState = "submitted"
	// CandidateRefused: the site refused it (another password signed in
	// after the refusal). It is never submitted again; recovery still
	// probes it, last.
	CandidateRefused CandidateState = "refused"
)

// Describe says, to a person, what a candidate in this state is to the
// rotation.
func (c CandidateState) Describe() string {
	switch c {
	case CandidateSubmitted:
		return "submitted: recovery probes it first"
	case CandidateRefused:
		return "refused by the page: never submitted again; recovery probes it after the current password"
	}
	return "stored, not known to be sent: the next rotation submits it"
}

func (c CandidateState) valid() bool {
	return c == CandidatePending || c == CandidateSubmitted || c == CandidateRefused
}

// Candidate is one password a rotation stored before asking the site to
// change to it.
type Candidate struct {
	// Seq numbers the account's candidates, in the order they were stored.
	Seq int64
	// Password prints as [redacted].
	Password  secret.String
	State     CandidateState
	CreatedAt time.Time
	UpdatedAt time.Time
	// Live is set on the account's pending password: the candidate a
	// rotation submits (again) next.
	Live bool
}

func adCandidate(name string, seq int64) secret.AD {
	return secret.AD{"account", name, "candidate", strconv.FormatInt(seq, 10)}
}

type queryRower interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// pendingTx reads and decrypts the account's pending password inside tx;
// ok is false when there is none.
func (s *Store) pendingTx(ctx context.Context, q queryRower, name string) (pw secret.String, ok bool, err error) {
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

// candidatesTx reads the account's id and its candidates, newest first.
func (s *Store) candidatesTx(ctx context.Context, q interface {
	queryRower
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, name string) (int64, []Candidate, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read account %s: %w", name, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, password, state, created_at, updated_at FROM candidates WHERE account_id = ? ORDER BY seq DESC`, id)
	if err != nil {
		return 0, nil, fmt.Errorf("read candidates of %s: %w", name, err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var (
			c                Candidate
			sealed           []byte
			state            string
			created, updated int64
		)
		if err := rows.Scan(&c.Seq, &sealed, &state, &created, &updated); err != nil {
			return 0, nil, fmt.Errorf("read candidates of %s: %w", name, err)
		}
		if c.Password, err = s.sealer.OpenString(sealed, adCandidate(name, c.Seq)); err != nil {
			return 0, nil, fmt.Errorf("decrypt candidate %d of %s: %w", c.Seq, name, err)
		}
		c.State, c.CreatedAt, c.UpdatedAt = CandidateState(state), time.UnixMilli(created), time.UnixMilli(updated)
		out = append(out, c)
	}
	return id, out, rows.Err()
}

// Candidates returns the account's stored candidate passwords, newest
// first; the pending password is marked Live. A pending password stored
// before candidates were kept (an older rotator) is listed with Seq 0 and
// state submitted.
func (s *Store) Candidates(ctx context.Context, name string) ([]Candidate, error) {
	pw, ok, err := s.pendingTx(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	_, cands, err := s.candidatesTx(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return cands, nil
	}
	for i := range cands {
		if cands[i].Password.Equal(pw) {
			cands[i].Live = true
			return cands, nil
		}
	}
	return append([]Candidate{{Password: pw, State: CandidateSubmitted, Live: true}}, cands...), nil
}

// AddCandidate stores pw, durably, as the account's pending password and as
// a new candidate in state pending, before the site is asked to change to
// it, and returns its number. Storing the pending password again returns
// its number. It fails with [ErrPendingExists] while a different candidate
// is live, and with [ErrCandidateRefused] for a password the site refused.
func (s *Store) AddCandidate(ctx context.Context, name string, pw secret.String) (int64, error) {
	return s.addCandidate(ctx, name, pw, CandidatePending)
}

func (s *Store) addCandidate(ctx context.Context, name string, pw secret.String, state CandidateState) (int64, error) {
	if pw.IsZero() {
		return 0, fmt.Errorf("store a candidate password for %s: the password is empty", name)
	}
	var seq int64
	err := s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("store a candidate password for %s: %w", name, err)
		}
		old, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		id, cands, err := s.candidatesTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if ok && !old.Equal(pw) {
			return fmt.Errorf("store a candidate password for %s: %w", name, ErrPendingExists)
		}
		for _, c := range cands {
			if !c.Password.Equal(pw) {
				continue
			}
			if c.State == CandidateRefused {
				return fmt.Errorf("store a candidate password for %s: %w", name, ErrCandidateRefused)
			}
			if ok {
				seq = c.Seq
				return nil
			}
		}
		// A new candidate, or a pending password an older rotator stored
		// without one.
		seq, err = s.insertCandidate(ctx, tx, id, name, pw, state)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		now := millis(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET pending_password = ?, pending_since = ?, updated_at = ? WHERE id = ?`,
			s.sealer.SealString(pw, adPending(name)), now, now, id)
		if err != nil {
			return fmt.Errorf("store pending password of %s: %w", name, err)
		}
		return nil
	})
	return seq, err
}

func (s *Store) insertCandidate(ctx context.Context, tx txn, id int64, name string, pw secret.String, state CandidateState) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE accounts SET candidate_seq = candidate_seq + 1 WHERE id = ? RETURNING candidate_seq`, id).Scan(&seq); err != nil {
		return 0, fmt.Errorf("number a candidate password of %s: %w", name, err)
	}
	now := millis(s.now())
	if _, err := tx.ExecContext(ctx, `INSERT INTO candidates (account_id, seq, password, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, seq, s.sealer.SealString(pw, adCandidate(name, seq)), string(state), now, now); err != nil {
		return 0, fmt.Errorf("store candidate password of %s: %w", name, err)
	}
	return seq, nil
}

// MarkCandidate records where candidate seq stands: submitted before the
// change form is sent, refused once the site refused it (proven by another
// password signing in). A refused candidate stops being the pending
// password and never leaves state refused.
func (s *Store) MarkCandidate(ctx context.Context, name string, seq int64, state CandidateState) error {
	if !state.valid() {
		return fmt.Errorf("mark candidate %d of %s: unknown state %q", seq, name, state)
	}
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("mark candidate %d of %s: %w", seq, name, err)
		}
		id, cands, err := s.candidatesTx(ctx, tx, name)
		if err != nil {
			return err
		}
		var c *Candidate
		for i := range cands {
			if cands[i].Seq == seq {
				c = &cands[i]
			}
		}
		if c == nil {
			return fmt.Errorf("mark candidate %d of %s: %w", seq, name, ErrNoCandidate)
		}
		if c.State == CandidateRefused && state != CandidateRefused {
			return fmt.Errorf("mark candidate %d of %s %s: %w", seq, name, state, ErrCandidateRefused)
		}
		now := millis(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE candidates SET state = ?, updated_at = ? WHERE account_id = ? AND seq = ?`,
			string(state), now, id, seq); err != nil {
			return fmt.Errorf("mark candidate %d of %s: %w", seq, name, err)
		}
		if state != CandidateRefused {
			return nil
		}
		if p, ok, err := s.pendingTx(ctx, tx, name); err != nil {
			return err
		} else if ok && p.Equal(c.Password) {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET pending_password = NULL, pending_since = NULL, updated_at = ? WHERE id = ?`, now, id); err != nil {
				return fmt.Errorf("mark candidate %d of %s: %w", seq, name, err)
			}
		}
		return nil
	})
}

// ResolveCandidates records that a password other than every candidate
// (the current or a previous one) signed in after the last candidate was
// submitted, so no candidate is the site's password: the refused and the
// other non-live candidates are cleared, and the pending password is kept,
// in state pending, as the next rotation's candidate.
func (s *Store) ResolveCandidates(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("resolve the candidates of %s: %w", name, err)
		}
		p, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		id, cands, err := s.candidatesTx(ctx, tx, name)
		if err != nil {
			return err
		}
		live := int64(-1)
		for _, c := range cands {
			if ok && c.Password.Equal(p) && c.State != CandidateRefused {
				live = c.Seq
			}
		}
		if ok && live < 0 {
			if live, err = s.insertCandidate(ctx, tx, id, name, p, CandidatePending); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM candidates WHERE account_id = ? AND seq != ?`, id, live); err != nil {
			return fmt.Errorf("resolve the candidates of %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE candidates SET state = 'pending', updated_at = ? WHERE account_id = ? AND seq = ?`,
			millis(s.now()), id, live); err != nil {
			return fmt.Errorf("resolve the candidates of %s: %w", name, err)
		}
		return nil
	})
}

// ReplacePending swaps a pending password the site refused for a new
// candidate: old is kept as a refused candidate, new becomes the pending
// password (state submitted, as with SetPending). It fails unless old is
// the pending password.
func (s *Store) ReplacePending(ctx context.Context, name string, old, new secret.String) error {
	if new.IsZero() {
		return fmt.Errorf("replace the pending password of %s: the new password is empty", name)
	}
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("replace the pending password of %s: %w", name, err)
		}
		p, ok, err := s.pendingTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoPending, name)
		}
		if !p.Equal(old) {
			return fmt.Errorf("pending password of %s changed under this run", name)
		}
		id, cands, err := s.candidatesTx(ctx, tx, name)
		if err != nil {
			return err
		}
		now := millis(s.now())
		found := false
		for _, c := range cands {
			if c.Password.Equal(new) && c.State == CandidateRefused {
				return fmt.Errorf("replace the pending password of %s: %w", name, ErrCandidateRefused)
			}
			if c.Password.Equal(old) {
				found = true
				if _, err := tx.ExecContext(ctx, `UPDATE candidates SET state = 'refused', updated_at = ? WHERE account_id = ? AND seq = ?`, now, id, c.Seq); err != nil {
					return fmt.Errorf("replace the pending password of %s: %w", name, err)
				}
			}
		}
		if !found {
			if _, err := s.insertCandidate(ctx, tx, id, name, old, CandidateRefused); err != nil {
				return err
			}
		}
		if _, err := s.insertCandidate(ctx, tx, id, name, new, CandidateSubmitted); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET pending_password = ?, pending_since = ?, updated_at = ? WHERE id = ?`,
			s.sealer.SealString(new, adPending(name)), now, now, id)
		if err != nil {
			return fmt.Errorf("replace the pending password of %s: %w", name, err)
		}
		return nil
	})
}

// RestorePrevious makes a previous password current again, after recovery
// found that it is the one the site accepts; the password it replaces goes
// to the history, as does nothing else. The pending password and the
// candidates, if any, are kept (see ResolveCandidates).
func (s *Store) RestorePrevious(ctx context.Context, name string, seq int64, reason string) error {
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("restore previous password %d of %s: %w", seq, name, err)
		}
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT h.password FROM password_history h JOIN accounts a ON a.id = h.account_id WHERE a.name = ? AND h.seq = ?`, name, seq).Scan(&sealed)
		if err != nil {
			return fmt.Errorf("read previous password %d of %s: %w", seq, name, err)
		}
		pw, err := s.sealer.OpenString(sealed, adHistory(name, seq))
		if err != nil {
			return fmt.Errorf("decrypt previous password of %s: %w", name, err)
		}
		return s.replace(ctx, tx, name, pw, reason, false)
	})
}
