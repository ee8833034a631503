// Package rotator changes an account's password on its site and always holds
// the password that works there.
//
// # The no-loss protocol
//
//  1. Every candidate password is generated once and stored, encrypted and
//     synced, before the change form is submitted ([store.Store.AddCandidate]),
//     and marked submitted just before the change flow runs. No candidate is
//     discarded on what a page says: a rejection, a timeout or a crash leaves
//     it in the vault.
//  2. Success means a sign-in with the new password from a signed-out
//     browser. A confirmation never counts, and neither does a rejection
//     banner: after a change flow that did not end cleanly, the rotation
//     signs out and proves which password works, the candidate first, then
//     the current one. If the candidate signs in, the page lied and the
//     candidate is promoted. If the current one does, the candidate is marked
//     refused (never submitted again), and only then is another candidate
//     tried.
//  3. Promotion (candidate to current, current to history) is one
//     compare-and-set transaction on the value that signed in.
//  4. Before every rotation and verification, an account with submitted or
//     refused candidates is recovered: sign in with the pending password and
//     every submitted candidate (newest first), then the current password,
//     then the refused candidates, then up to three previous ones. A
//     candidate proven never submitted is not probed. Whichever signs in
//     becomes current.
//  5. Failed sign-ins are bounded per run (the template's budget, else
//     [Rotator.MaxFailedSignIns], else 2), and a next candidate is submitted
//     only while the budget can still prove it. When the budget is spent, or
//     no password signs in, the account goes to needs_operator with a reason
//     that names the passwords not tried (never their values), every
//     password is kept, and nothing automatic touches it again until an
//     operator clears it.
//  6. When a run ends proven (the password that signed in last is current),
//     the candidates proven not to be the site's password are cleared; the
//     pending one is kept, as not set, for the next rotation.
//  7. One rotation per account at a time, across processes and machines: a
//     lease in the vault with a fencing token. Every write of the run carries
//     the lease ([store.WithLease]) and fails once another run took the
//     account; the lease is renewed, retrying, until it would expire, and
//     taken over by another run only once it has expired. The account's
//     state and rate limit are checked again under the lease.
//
// A challenge (CAPTCHA, trust prompt, verification) stops a rotation in
// state paused; a rotation refuses to start when the account already had its
// allowed changes in the last 24 hours, and says when the next is allowed.
package rotator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Store is what rotations need from the vault.
type Store interface {
	otp.StepGuard
	Account(ctx context.Context, name string) (store.Account, error)
	Password(ctx context.Context, name string) (secret.String, error)
	Candidates(ctx context.Context, name string) ([]store.Candidate, error)
	AddCandidate(ctx context.Context, name string, pw secret.String) (int64, error)
	MarkCandidate(ctx context.Context, name string, seq int64, state store.CandidateState) error
	ResolveCandidates(ctx context.Context, name string) error
	Promote(ctx context.Context, name string, verified secret.String, reason string) error
	RestorePrevious(ctx context.Context, name string, seq int64, reason string) error
	History(ctx context.Context, name string) ([]store.HistoryEntry, error)
	LockAccountIf(ctx context.Context, name, owner string, ttl time.Duration, admit store.Admit) (store.Lease, error)
	RenewLock(ctx context.Context, l store.Lease, ttl time.Duration) error
	UnlockAccount(ctx context.Context, l store.Lease) error
	Flag(ctx context.Context, name string, state store.State, reason string) error
	GetLimit(ctx context.Context, name string) (store.Limit, error)
	Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error)
	StartRun(ctx context.Context, r store.Run) (int64, error)
	FinishRun(ctx context.Context, r store.Run) error
	Runs(ctx context.Context, account string, limit int) ([]store.Run, error)
	Audit(ctx context.Context, e store.AuditEvent) error
	// RecordHeld and ForgetHeld tell every worker's console which worker
	// holds an account's page for an operator.
	RecordHeld(ctx context.Context, p store.HeldPage) error
	ForgetHeld(ctx context.Context, account string, runID int64) error
}

var _ Store = (*store.Store)(nil)

// DefaultMaxFailedSignIns is the default budget of failed sign-ins per run.
const DefaultMaxFailedSignIns = 2

// Result is what an attempt did.
type Result struct {
	Outcome rotation.Outcome
	RunID   int64
	// Reason explains a failure, a pause or a refusal (never a secret).
	Reason string
	// Challenge is set when the outcome is Paused.
	Challenge *browser.ChallengeError
	// NextAllowed is when a refused rotation may run.
	NextAllowed time.Time
	// Recovered says what recovery found, if it ran.
	Recovered rotation.Finding
	// Step is the step whose failure ended the run, when one did: where it
	// is in the template, the page, the files saved and what the page
	// offered instead (browser.Explain shows them to a template's author).
	Step *browser.StepError
}

// Rotator runs rotations, verifications and recoveries.
type Rotator struct {
	Store  Store
	Opener Opener
	// Chromium is the browser the sessions share, when the rotator has one
	// of its own (FromConfig): Close stops it.
	Chromium  *browser.Chromium
	Templates func(name string) (*templates.Template, error)
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Actor names who runs the attempts, for the audit log.
	Actor string
	// Policy is the configured cap per 24 hours (0: 2; an account may
	// lower it, or raise it with an audited override) and the minimum gap
	// between two changes (0: none; the configuration's default is 6
	// hours): the rule the scheduler applies too.
	Policy schedule.Policy
	// TOTPMinValidity is the default fresh-code policy.
	TOTPMinValidity time.Duration
	// ArtifactDir is the account's artifact folder; each run gets a
	// sub-folder and the last KeepRuns are kept.
	ArtifactDir func(account string) string
	KeepRuns    int
	// MaxCandidates bounds new passwords tried when the site refuses one.
	MaxCandidates int
	// MaxFailedSignIns is the default budget of failed sign-ins per run,
	// for templates that set no max_failed_sign_ins
	// (0: DefaultMaxFailedSignIns). A run stops before it would exceed it.
	MaxFailedSignIns int
	// Random is the source for passwords (crypto/rand when nil).
	Random io.Reader
	// OnStep and OnEvent report progress.
	OnStep  func(account string, rep browser.StepReport)
	OnEvent func(account, msg string)
	// LockTTL is the account lease (default 2 min, renewed while running).
	LockTTL time.Duration
	// Holds, when set, keeps a paused rotation's browser for an operator
	// to resolve the challenge in the console; the rotation then resumes
	// with the step after it.
	Holds *Holds
	// Events, when set, hears of every pause as it begins and of every
	// run as it ends (the daemon's webhook and metrics).
	Events Events
}

// Events hears what runs do, as it happens. A method must not block: it is
// called from the run.
type Events interface {
	// Paused is told once per pause, when it begins: while the browser
	// waits for an operator, or as the run ends when no browser is kept.
	Paused(Pause)
	// Finished is told when a rotation or a verification returns, whatever
	// its outcome (a run that could not start included).
	Finished(Finished)
}

// Pause is a run stopped at a challenge.
type Pause struct {
	Account, Template string
	RunID             int64
	Challenge         *browser.ChallengeError
	// Reason is what the run records (never a secret).
	Reason string
}

// Finished is a run that returned.
type Finished struct {
	Account, Template string
	Kind              rotation.Kind
	Result            Result
	// Took is how long the call lasted, waits for an operator included.
	Took time.Duration
}

// OutcomeOf names how a call ended, including one that returned an error
// instead of a result: Busy when another run holds the account, Failed
// otherwise.
func OutcomeOf(res Result, err error) rotation.Outcome {
	switch {
	case errors.Is(err, store.ErrLocked):
		return rotation.Busy
	case err != nil:
		return rotation.Failed
	}
	return res.Outcome
}

// finished tells Events that a call returned.
func (r *Rotator) finished(acct store.Account, kind rotation.Kind, res Result, err error, start time.Time) {
	if r.Events == nil {
		return
	}
	res.Outcome = OutcomeOf(res, err)
	if err != nil && res.Reason == "" {
		res.Reason = err.Error()
	}
	r.Events.Finished(Finished{Account: acct.Name, Template: acct.Template, Kind: kind, Result: res, Took: r.now().Sub(start)})
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Close stops the rotator's own browser, if it has one. Call it once no
// run is left.
func (r *Rotator) Close() error {
	if r.Chromium == nil {
		return nil
	}
	return r.Chromium.Close()
}

func (r *Rotator) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Rotator) event(account, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log().Info(msg, "account", account)
	if r.OnEvent != nil {
		r.OnEvent(account, msg)
	}
}

// NextAllowed returns when the account may change its password again (zero
// when it may now), why not before, and the changes counted.
func (r *Rotator) NextAllowed(ctx context.Context, name string) (time.Time, string, error) {
	now := r.now()
	at, why, err := r.Policy.Allowed(ctx, r.Store, name, now)
	if err != nil || !at.After(now) {
		return time.Time{}, "", err
	}
	return at, why, nil
}

// budget is the run's budget of failed sign-ins for tpl.
func (r *Rotator) budget(tpl *templates.Template) int {
	if tpl != nil && tpl.MaxFailedSignIns > 0 {
		return tpl.MaxFailedSignIns
	}
	if r.MaxFailedSignIns > 0 {
		return r.MaxFailedSignIns
	}
	return DefaultMaxFailedSignIns
}

// checkState refuses accounts waiting for an operator.
func checkState(acct store.Account) *Result {
	switch acct.State {
	case store.StateNeedsOperator:
		return &Result{Outcome: rotation.Refused, Reason: "the account needs an operator (" + acct.FlagReason + "); clear it with `rotator account clear " + acct.Name + "`"}
	case store.StatePaused:
		return &Result{Outcome: rotation.Refused, Reason: "the account is paused for an operator (" + acct.FlagReason + "); clear it with `rotator account clear " + acct.Name + "`"}
	}
	return nil
}

// admitChange decides, in the transaction that takes the lease, whether a
// change is allowed now: the cap and the gap from the stored history.
func (r *Rotator) admitChange(name string) store.Admit {
	return func(ctx context.Context, h store.History) error {
		now := r.now()
		next, why, err := r.Policy.Allowed(ctx, h, name, now)
		if err != nil {
			return err
		}
		if next.After(now) {
			return &refusal{res: Result{Outcome: rotation.Refused, NextAllowed: next,
				Reason: fmt.Sprintf("%s; the next change is allowed at %s", why, next.UTC().Format(time.RFC3339))}}
		}
		return nil
	}
}

// mayRotate refuses a rotation of an account waiting for an operator or
// past its rate limit.
func (r *Rotator) mayRotate(ctx context.Context, acct store.Account) (*Result, error) {
	if res := checkState(acct); res != nil {
		return res, nil
	}
	next, why, err := r.NextAllowed(ctx, acct.Name)
	if err != nil {
		return nil, err
	}
	if !next.IsZero() {
		return &Result{Outcome: rotation.Refused, NextAllowed: next,
			Reason: fmt.Sprintf("%s; the next change is allowed at %s", why, next.UTC().Format(time.RFC3339))}, nil
	}
	return nil, nil
}

// Rotate changes the named account's password (see RotateAccount).
func (r *Rotator) Rotate(ctx context.Context, name string) (Result, error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return Result{}, err
	}
	return r.RotateAccount(ctx, acct, nil)
}

// RotateAccount changes acct's password: lock, recover an unfinished
// rotation, login, change, verify, promote. The account's state and rate
// limit are checked before the lease (cheaply, on acct as the caller
// loaded it) and again under it. slot, when not nil, is the caller's share
// of capacity, given back while the run waits for an operator.
func (r *Rotator) RotateAccount(ctx context.Context, acct store.Account, slot Slot) (res Result, err error) {
	start := r.now()
	defer func() { r.finished(acct, rotation.Rotate, res, err, start) }()
	if res, err := r.mayRotate(ctx, acct); err != nil || res != nil {
		if res == nil {
			return Result{}, err
		}
		return *res, err
	}
	a, ctx, stop, err := r.begin(ctx, acct, rotation.Rotate, r.mayRotate, r.admitChange(acct.Name))
	if ref := (*refusal)(nil); errors.As(err, &ref) {
		return ref.res, nil
	}
	if err != nil {
		return Result{}, err
	}
	defer stop()
	a.slot = slot
	r.Store.Flag(ctx, acct.Name, store.StateRunning, "")
	return a.rotate(ctx), nil
}

// Verify is a health check: sign in with the current password, changing
// nothing. An account with candidates that may be live is recovered first.
func (r *Rotator) Verify(ctx context.Context, name string) (res Result, err error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return Result{}, err
	}
	start := r.now()
	defer func() { r.finished(acct, rotation.Verify, res, err, start) }()
	a, ctx, stop, err := r.begin(ctx, acct, rotation.Verify, nil, nil)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	rec := a.recover(ctx, false)
	switch {
	case rec.stop != nil:
		return a.end(ctx, *rec.stop, rec.found), nil
	case rec.found.Ran():
		return a.end(ctx, Result{Outcome: rotation.Succeeded}, rec.found), nil
	}
	a.sess.TryLogout(ctx)
	ok, stopRes, lerr := a.try(ctx, "current", a.current, a.login)
	if stopRes != nil {
		return a.end(ctx, *stopRes, rec.found), nil
	}
	if !ok {
		return a.currentFailed(ctx, lerr), nil
	}
	return a.end(ctx, Result{Outcome: rotation.Succeeded}, rec.found), nil
}
