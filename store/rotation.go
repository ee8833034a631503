package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// ErrLocked means another run holds the account.
var ErrLocked = errors.New("account is locked by another run")

// LockInfo says who holds an account.
type LockInfo struct {
	Owner      string
	Host       string
	PID        int
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// alive reports whether a process of this host exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// LockAccount takes the account for one run, across processes: a lease in
// the vault that expires after ttl unless renewed. A lease whose holder was
// a process of this host that no longer exists is taken over at once (a
// killed rotator does not block its account until the lease runs out).
func (s *Store) LockAccount(ctx context.Context, name, owner string, ttl time.Duration) error {
	host, pid := hostname(), os.Getpid()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.accountIDTx(ctx, tx, name); err != nil {
			return err
		}
		var cur LockInfo
		var acq, exp int64
		err := tx.QueryRowContext(ctx, `SELECT owner, host, pid, acquired_at, expires_at FROM account_locks WHERE account = ?`, name).
			Scan(&cur.Owner, &cur.Host, &cur.PID, &acq, &exp)
		now := s.now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("lock %s: %w", name, err)
		case cur.Owner == owner:
		case time.UnixMilli(exp).Before(now):
		case cur.Host == host && !alive(cur.PID):
		default:
			return fmt.Errorf("%w: %s (held by %s, pid %d on %s, since %s)", ErrLocked, name, cur.Owner, cur.PID, cur.Host,
				time.UnixMilli(acq).UTC().Format(time.RFC3339))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO account_locks (account, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
	acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
			name, owner, host, pid, millis(now), millis(now.Add(ttl)))
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		return nil
	})
}

// RenewLock extends a lease the owner holds.
func (s *Store) RenewLock(ctx context.Context, name, owner string, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE account_locks SET expires_at = ? WHERE account = ? AND owner = ?`, millis(s.now().Add(ttl)), name, owner)
		if err != nil {
			return fmt.Errorf("renew lock of %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s (the lease was lost)", ErrLocked, name)
		}
		return nil
	})
}

// UnlockAccount releases the owner's lease.
func (s *Store) UnlockAccount(ctx context.Context, name, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM account_locks WHERE account = ? AND owner = ?`, name, owner)
		return err
	})
}

func (s *Store) accountIDTx(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return id, err
}

// Flag sets the account's state with a reason and a time, for operators.
func (s *Store) Flag(ctx context.Context, name string, state State, reason string) error {
	if !state.Valid() {
		return fmt.Errorf("unknown account state %q", state)
	}
	now := millis(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		var flagged any = now
		if state == StateActive || state == StateRunning {
			flagged, reason = nil, ""
		}
		return updateAccount(ctx, tx, name, "set state",
			`UPDATE accounts SET state = ?, flag_reason = ?, flagged_at = ?, updated_at = ? WHERE name = ?`,
			string(state), reason, flagged, now)
	})
}

// Flagged is an account waiting for an operator.
type Flagged struct {
	Account   string
	State     State
	Reason    string
	FlaggedAt time.Time
}

// Flags lists the accounts in paused or needs_operator, oldest first.
func (s *Store) Flags(ctx context.Context) ([]Flagged, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, state, flag_reason, flagged_at FROM accounts
WHERE state IN ('paused', 'needs_operator') ORDER BY flagged_at, name`)
	if err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}
	defer rows.Close()
	var out []Flagged
	for rows.Next() {
		var f Flagged
		var st string
		var at sql.NullInt64
		if err := rows.Scan(&f.Account, &st, &f.Reason, &at); err != nil {
			return nil, err
		}
		f.State, f.FlaggedAt = State(st), fromMillis(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Limit is an account's rate limit.
type Limit struct {
	// Max changes in any rolling 24 hours; 0 means the configured default.
	Max int
	// Override is set when Max is above the default, which only an explicit,
	// audited override allows.
	Override bool
}

// SetLimit stores an account's rate limit.
func (s *Store) SetLimit(ctx context.Context, name string, l Limit) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var max any
		if l.Max > 0 {
			max = l.Max
		}
		return updateAccount(ctx, tx, name, "set limit",
			`UPDATE accounts SET max_changes_24h = ?, limit_override = ?, updated_at = ? WHERE name = ?`,
			max, l.Override, millis(s.now()))
	})
}

// GetLimit reads an account's rate limit.
func (s *Store) GetLimit(ctx context.Context, name string) (Limit, error) {
	var max sql.NullInt64
	var l Limit
	err := s.db.QueryRowContext(ctx, `SELECT max_changes_24h, limit_override FROM accounts WHERE name = ?`, name).Scan(&max, &l.Override)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	l.Max = int(max.Int64)
	return l, err
}

// Changes returns when the account's password changed on the site at or
// after since, oldest first: from the stored history, so the count holds
// across restarts.
func (s *Store) Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT h.retired_at FROM password_history h JOIN accounts a ON a.id = h.account_id
WHERE a.name = ? AND h.changed_on_site = 1 AND h.retired_at >= ? ORDER BY h.retired_at`, name, millis(since))
	if err != nil {
		return nil, fmt.Errorf("read changes of %s: %w", name, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			return nil, err
		}
		out = append(out, time.UnixMilli(ms))
	}
	return out, rows.Err()
}

// RunStep is one step of a run's record.
type RunStep struct {
	Flow    string `json:"flow"`
	Step    string `json:"step"`
	Kind    string `json:"kind"`
	Matched string `json:"matched,omitempty"`
	Millis  int64  `json:"ms"`
	OK      bool   `json:"ok"`
	// Note is what the step did beyond its kind ("condition false",
	// "challenge resolved by an operator"); Error why it failed. Neither
	// ever holds a value typed into the page.
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
	// At is when the step ended.
	At time.Time `json:"at,omitzero"`
}

// Run is the record of one attempt.
type Run struct {
	ID            int64
	Account       string
	Kind          string // rotate, verify, recover
	Owner         string
	StartedAt     time.Time
	FinishedAt    time.Time
	Outcome       string // running, succeeded, failed, paused, needs_operator, refused
	Flow, Step    string
	Reason        string
	ChallengeKind string
	ChallengeURL  string
	Screenshot    string
	Artifacts     string
	Steps         []RunStep
}

// StartRun records a run as running and returns its id.
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (account, kind, owner, started_at, outcome, artifacts) VALUES (?, ?, ?, ?, 'running', ?)`,
			r.Account, r.Kind, r.Owner, millis(s.now()), r.Artifacts)
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// FinishRun records a run's outcome.
func (s *Store) FinishRun(ctx context.Context, r Run) error {
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET finished_at = ?, outcome = ?, flow = ?, step = ?, reason = ?,
	challenge_kind = ?, challenge_url = ?, screenshot = ?, artifacts = ?, steps = ? WHERE id = ?`,
			millis(s.now()), r.Outcome, r.Flow, r.Step, r.Reason, r.ChallengeKind, r.ChallengeURL, r.Screenshot, r.Artifacts, string(steps), r.ID)
		if err != nil {
			return fmt.Errorf("record run outcome: %w", err)
		}
		return nil
	})
}

// Runs returns an account's runs, newest first, at most limit (0: all).
func (s *Store) Runs(ctx context.Context, account string, limit int) ([]Run, error) {
	q := runColumns + ` WHERE account = ? ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return s.queryRuns(ctx, q, account)
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	runs, err := s.queryRuns(ctx, runColumns+` WHERE id = ?`, id)
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("%w: run %d", ErrNoRun, id)
	}
	return runs[0], nil
}

// ErrNoRun is a run id the vault does not hold.
var ErrNoRun = errors.New("no such run")

const runColumns = `SELECT id, account, kind, owner, started_at, finished_at, outcome, flow, step, reason, challenge_kind, challenge_url,
	screenshot, artifacts, steps FROM runs`

func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started int64
		var finished sql.NullInt64
		var steps string
		if err := rows.Scan(&r.ID, &r.Account, &r.Kind, &r.Owner, &started, &finished, &r.Outcome, &r.Flow, &r.Step, &r.Reason,
			&r.ChallengeKind, &r.ChallengeURL, &r.Screenshot, &r.Artifacts, &steps); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt = time.UnixMilli(started), fromMillis(finished)
		_ = json.Unmarshal([]byte(steps), &r.Steps)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReplacePending swaps a pending password the site refused (so it is not
// live) for a new candidate. It fails unless old is the pending password.
func (s *Store) ReplacePending(ctx context.Context, name string, old, new secret.String) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
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
		now := millis(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET pending_password = ?, pending_since = ?, updated_at = ? WHERE name = ?`,
			s.sealer.SealString(new, adPending(name)), now, now, name)
		return err
	})
}

// RestorePrevious makes a previous password current again, after recovery
// found that it is the one the site accepts; the password it replaces goes
// to the history, as does nothing else. The pending password, if any, is
// kept for the operator.
func (s *Store) RestorePrevious(ctx context.Context, name string, seq int64, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
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
