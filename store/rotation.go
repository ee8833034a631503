package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rotator-pam/rotator/rotation"
)

// ErrLocked means another run holds the account.
var ErrLocked = errors.New("account is locked by another run")

// ErrLeaseLost means a run's lease on its account no longer holds: it
// expired and another run took the account (or it was released). A write
// made under a lost lease is refused and changes nothing.
var ErrLeaseLost = errors.New("the lease on the account was lost")

// LockInfo says who holds an account.
type LockInfo struct {
	Owner      string
	Host       string
	PID        int
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// Lease is one run's hold on an account. Token is its fencing token: it
// grows by one each time the account is taken, so a run that lost its lease
// cannot write over the run that took the account after it.
type Lease struct {
	Account string
	Owner   string
	Token   int64
}

type leaseKey struct{}

// WithLease returns a context whose writes to the lease's account are
// fenced: [Store.AddCandidate], [Store.SetPending], [Store.MarkCandidate],
// [Store.ResolveCandidates], [Store.ReplacePending], [Store.Promote],
// [Store.RestorePrevious], [Store.Flag], [Store.StartRun],
// [Store.FinishRun] and [Store.SetCookies] check, in their own transaction, that the lease still
// holds (the account's lease row still has its owner and token: no other
// run took the account since, even if the lease ran past its expiry), and
// fail with [ErrLeaseLost] when it does not. A write for another account
// under such a context fails too. Writes without a lease in ctx (an
// operator's edits) are not fenced.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// fence checks the lease ctx carries, if any, inside tx.
func fence(ctx context.Context, tx txn, name string) error {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	if !ok {
		return nil
	}
	if l.Account != name {
		return fmt.Errorf("%w: the run holds %s, not %s", ErrLeaseLost, l.Account, name)
	}
	var owner string
	var token int64
	err := tx.QueryRowContext(ctx, `SELECT owner, token FROM account_locks WHERE account = ?`, name).Scan(&owner, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s (released)", ErrLeaseLost, name)
	}
	if err != nil {
		return fmt.Errorf("check the lease on %s: %w", name, err)
	}
	if owner != l.Owner || token != l.Token {
		return fmt.Errorf("%w: %s (taken by %s with token %d; this run had token %d)", ErrLeaseLost, name, owner, token, l.Token)
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// LockAccount takes the account for one run, across processes and
// machines: a lease in the vault that expires after ttl unless renewed. A
// lease is taken over once it has expired, or at once when its holder is
// known dead: its lock file beside the vault (see holder) is free, which the
// kernel guarantees only once the holding process is gone. A PID is never
// asked: it means nothing across PID namespaces and machines. Each take
// hands out a new fencing token, which fences the dead holder's writes.
func (s *Store) LockAccount(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	return s.LockAccountIf(ctx, name, owner, ttl, nil)
}

// History is an account's change history and limit as one transaction
// sees it: what the cap and the gap are decided from.
type History interface {
	Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error)
	GetLimit(ctx context.Context, name string) (Limit, error)
}

// Admit decides whether a run may take the account: it reads the history
// in the transaction that takes the lease, and its error refuses the
// lease (returned as it is).
type Admit func(ctx context.Context, h History) error

// txHistory is History inside a transaction.
type txHistory struct {
	s  *Store
	tx txn
}

func (h txHistory) Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error) {
	return changes(ctx, h.tx, name, since)
}

func (h txHistory) GetLimit(ctx context.Context, name string) (Limit, error) {
	return getLimit(ctx, h.tx, name)
}

// LockAccountIf is LockAccount deciding admit in the same transaction
// that takes the lease: with one writer at a time on both engines, no
// other run can change the account's history between the decision and the
// lease, so two workers can never both pass the cap.
func (s *Store) LockAccountIf(ctx context.Context, name, owner string, ttl time.Duration, admit Admit) (Lease, error) {
	host, pid := hostname(), os.Getpid()
	holder, err := s.holderID()
	if err != nil {
		return Lease{}, err
	}
	var l Lease
	err = s.tx(ctx, func(tx txn) error {
		id, err := s.accountIDTx(ctx, tx, name)
		if err != nil {
			return err
		}
		cur, found, err := readLease(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		now := s.now()
		if found && cur.Owner != owner && s.live(cur) {
			return fmt.Errorf("%w: %s (held by %s, pid %d on %s, since %s, until %s)", ErrLocked, name, cur.Owner, cur.PID, cur.Host,
				cur.acquired.UTC().Format(time.RFC3339), cur.expires.UTC().Format(time.RFC3339))
		}
		if admit != nil {
			if err := admit(ctx, txHistory{s, tx}); err != nil {
				return err
			}
		}
		var token int64
		if err := tx.QueryRowContext(ctx, `UPDATE accounts SET lease_token = lease_token + 1 WHERE id = ? RETURNING lease_token`, id).Scan(&token); err != nil {
			return fmt.Errorf("lock %s: next fencing token: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO account_locks (account, owner, host, pid, acquired_at, expires_at, token, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
	acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, token = excluded.token, holder = excluded.holder`,
			name, owner, host, pid, millis(now), millis(now.Add(ttl)), token, holder)
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		l = Lease{Account: name, Owner: owner, Token: token}
		return nil
	})
	return l, err
}

// leaseRow is an account's lease as stored.
type leaseRow struct {
	LockInfo
	acquired, expires time.Time
	holder            string
}

// readLease reads the account's lease, if any.
func readLease(ctx context.Context, q queryRower, name string) (leaseRow, bool, error) {
	var l leaseRow
	var acq, exp int64
	err := q.QueryRowContext(ctx, `SELECT owner, host, pid, acquired_at, expires_at, holder FROM account_locks WHERE account = ?`, name).
		Scan(&l.Owner, &l.Host, &l.PID, &acq, &exp, &l.holder)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	l.acquired, l.expires = time.UnixMilli(acq), time.UnixMilli(exp)
	return l, true, nil
}

// live reports whether a run still holds the lease: it has not expired and
// its holder's lock is held (a dead process's is free: see holder).
func (s *Store) live(l leaseRow) bool {
	return s.now().Before(l.expires) && !s.holderDead(l.holder)
}

// RenewLock extends the lease l by ttl from now. It fails with
// [ErrLeaseLost] when another run took the account or it was released.
func (s *Store) RenewLock(ctx context.Context, l Lease, ttl time.Duration) error {
	return s.tx(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE account_locks SET expires_at = ? WHERE account = ? AND owner = ? AND token = ?`,
			millis(s.now().Add(ttl)), l.Account, l.Owner, l.Token)
		if err != nil {
			return fmt.Errorf("renew lock of %s: %w", l.Account, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("renew lock of %s: %w", l.Account, ErrLeaseLost)
		}
		return nil
	})
}

// UnlockAccount releases the lease l, and only it: a lease another run took
// over (owner or token differ) is left alone.
func (s *Store) UnlockAccount(ctx context.Context, l Lease) error {
	return s.tx(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM account_locks WHERE account = ? AND owner = ? AND token = ?`, l.Account, l.Owner, l.Token)
		if err != nil {
			return fmt.Errorf("unlock %s: %w", l.Account, err)
		}
		return nil
	})
}

func (s *Store) accountIDTx(ctx context.Context, tx txn, name string) (int64, error) {
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
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, name); err != nil {
			return fmt.Errorf("set state of %s: %w", name, err)
		}
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
	return s.tx(ctx, func(tx txn) error {
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
	return getLimit(ctx, s.db, name)
}

func getLimit(ctx context.Context, q queryRower, name string) (Limit, error) {
	var max sql.NullInt64
	var l Limit
	err := q.QueryRowContext(ctx, `SELECT max_changes_24h, limit_override FROM accounts WHERE name = ?`, name).Scan(&max, &l.Override)
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
	return changes(ctx, s.db, name, since)
}

func changes(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, name string, since time.Time) ([]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT h.retired_at FROM password_history h JOIN accounts a ON a.id = h.account_id
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
	Kind          rotation.Kind
	Owner         string
	StartedAt     time.Time
	FinishedAt    time.Time
	Outcome       rotation.Outcome
	Flow, Step    string
	Reason        string
	ChallengeKind string
	ChallengeURL  string
	Screenshot    string
	Artifacts     string
	Steps         []RunStep
}

// Took is how long the run lasted; zero while it has not finished.
func (r Run) Took() time.Duration {
	if r.FinishedAt.IsZero() {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// StartRun records a run as running and returns its id.
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, r.Account); err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO runs (account, kind, owner, started_at, outcome, artifacts) VALUES (?, ?, ?, ?, 'running', ?) RETURNING id`,
			r.Account, r.Kind, r.Owner, millis(s.now()), r.Artifacts).Scan(&id)
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		return nil
	})
	return id, err
}

// FinishRun records a run's outcome.
func (s *Store) FinishRun(ctx context.Context, r Run) error {
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx txn) error {
		if err := fence(ctx, tx, r.Account); err != nil {
			return fmt.Errorf("record run outcome: %w", err)
		}
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
