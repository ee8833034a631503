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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/otp"
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
	LockAccount(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error)
	RenewLock(ctx context.Context, l store.Lease, ttl time.Duration) error
	UnlockAccount(ctx context.Context, l store.Lease) error
	Flag(ctx context.Context, name string, state store.State, reason string) error
	GetLimit(ctx context.Context, name string) (store.Limit, error)
	Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error)
	StartRun(ctx context.Context, r store.Run) (int64, error)
	FinishRun(ctx context.Context, r store.Run) error
	Audit(ctx context.Context, e store.AuditEvent) error
}

var _ Store = (*store.Store)(nil)

// Outcome is how an attempt ended.
type Outcome string

// The outcomes.
const (
	Succeeded     Outcome = "succeeded"
	Failed        Outcome = "failed"
	Paused        Outcome = "paused"
	NeedsOperator Outcome = "needs_operator"
	Refused       Outcome = "refused"
)

// DefaultMaxFailedSignIns is the default budget of failed sign-ins per run.
const DefaultMaxFailedSignIns = 2

// Result is what an attempt did.
type Result struct {
	Outcome Outcome
	RunID   int64
	// Reason explains a failure, a pause or a refusal (never a secret).
	Reason string
	// Challenge is set when the outcome is Paused.
	Challenge *browser.ChallengeError
	// NextAllowed is when a refused rotation may run.
	NextAllowed time.Time
	// Recovered says what recovery found, if it ran.
	Recovered string
	// Held is set when the browser was kept for an operator at a
	// challenge (OnPause was told then).
	Held bool
}

// Rotator runs rotations, verifications and recoveries.
type Rotator struct {
	Store     Store
	Opener    Opener
	Templates func(name string) (*templates.Template, error)
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Actor names who runs the attempts, for the audit log.
	Actor string
	// MaxChanges is the configured cap per 24 hours (default 2; an account
	// may lower it, or raise it with an audited override).
	MaxChanges int
	// MinGap is the minimum time between two changes; 0: none (the
	// configuration's default is 6 hours).
	MinGap time.Duration
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
	// OnPause is told when a rotation's browser starts waiting for an
	// operator (the webhook), with the reason recorded.
	OnPause func(account string, runID int64, c *browser.ChallengeError, reason string)
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
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
	at, why, err := schedule.Policy{MaxChanges: r.MaxChanges, MinGap: r.MinGap}.Allowed(ctx, r.Store, name, now)
	if err != nil || !at.After(now) {
		return time.Time{}, "", err
	}
	return at, why, nil
}

// attempt is one run's working state.
type attempt struct {
	r       *Rotator
	name    string
	acct    store.Account
	tpl     *templates.Template
	sess    Session
	run     store.Run
	owner   string
	lease   store.Lease
	current secret.String
	// budget is the most failed sign-ins the run may make; failed counts
	// them.
	budget, failed int
	// changeSteps counts the steps the change flow reported, and
	// mayHaveSubmitted is set once one of them could have sent the form.
	changeSteps      int
	mayHaveSubmitted bool
	// held is set when the attempt kept its browser for an operator;
	// holdNote says how the hold ended.
	held     bool
	holdNote string
}

// sendsNothing reports whether a step of this kind cannot send a form: it
// only navigates, waits, checks or records. Any other step (a fill, whose
// input handler may submit; a click; a key press; a script) may have sent
// the new password, even when it failed.
func sendsNothing(k templates.StepKind) bool {
	switch k {
	case templates.StepGoto, templates.StepWaitFor, templates.StepExpect, templates.StepIf, templates.StepFrame,
		templates.StepScreenshot, templates.StepSleep, templates.StepLog:
		return true
	}
	return false
}

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", hostnameOr(), os.Getpid(), hex.EncodeToString(b))
}

func hostnameOr() string {
	h, _ := os.Hostname()
	return h
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

// refusal is a run that may not start, found under the lease.
type refusal struct{ res Result }

func (e *refusal) Error() string { return "refused: " + e.res.Reason }

// begin locks the account, records the run and opens the browser. The
// returned stop function ends all of it. precheck, when set, decides under
// the lease whether the run may start; a refusal is returned as a *refusal
// error.
func (r *Rotator) begin(ctx context.Context, name, kind string, precheck func(context.Context, store.Account) (*Result, error)) (*attempt, context.Context, func(), error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return nil, ctx, nil, err
	}
	tpl, err := r.Templates(acct.Template)
	if err != nil {
		return nil, ctx, nil, fmt.Errorf("template %s of account %s: %w", acct.Template, name, err)
	}
	a := &attempt{r: r, name: name, acct: acct, tpl: tpl, owner: newOwner(), budget: r.budget(tpl)}
	ttl := r.LockTTL
	if ttl == 0 {
		ttl = 2 * time.Minute
	}
	lease, err := r.Store.LockAccount(ctx, name, a.owner, ttl)
	if err != nil {
		return nil, ctx, nil, err
	}
	a.lease = lease
	// Every write of the run is fenced by the lease.
	ctx = store.WithLease(ctx, lease)
	unlock := func() { _ = r.Store.UnlockAccount(context.WithoutCancel(ctx), lease) }
	if precheck != nil {
		// The account as it is now that no other run may change it.
		if a.acct, err = r.Store.Account(ctx, name); err != nil {
			unlock()
			return nil, ctx, nil, err
		}
		res, err := precheck(ctx, a.acct)
		if err != nil || res != nil {
			unlock()
			if err == nil {
				err = &refusal{res: *res}
			}
			return nil, ctx, nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		r.keepLease(ctx, cancel, lease, ttl)
	}()
	stop := func() {
		cancel(nil)
		<-renewDone
		if a.sess != nil {
			a.sess.Close()
		}
		unlock()
	}
	a.run = store.Run{Account: name, Kind: kind, Owner: a.owner}
	dir := ""
	if r.ArtifactDir != nil {
		dir = r.ArtifactDir(name)
	}
	if a.run.ID, err = r.Store.StartRun(ctx, a.run); err != nil {
		stop()
		return nil, ctx, nil, err
	}
	if dir != "" {
		a.run.Artifacts = filepath.Join(dir, fmt.Sprintf("run-%06d", a.run.ID))
		r.prune(dir)
	}
	onStep := func(rep browser.StepReport) {
		st := store.RunStep{Flow: rep.Flow, Step: rep.Path, Kind: string(rep.Step.Kind),
			Matched: rep.Matched, Millis: rep.Duration.Milliseconds(), OK: rep.Err == nil, Note: rep.Note, At: r.now().UTC()}
		if rep.Err != nil {
			st.Error = rep.Err.Error()
		}
		if rep.Step.Kind == templates.StepEval {
			st.Note = "" // a script's result is the template's business, not the record's
		}
		a.run.Steps = append(a.run.Steps, st)
		if rep.Flow == templates.FlowChange {
			a.changeSteps++
			a.mayHaveSubmitted = a.mayHaveSubmitted || !sendsNothing(rep.Step.Kind)
		}
		if r.OnStep != nil {
			r.OnStep(name, rep)
		}
	}
	hooks := Hooks{ArtifactDir: a.run.Artifacts, OnStep: onStep}
	if kind != "session" {
		hooks.OnChallenge = a.hold
	}
	if a.sess, err = r.Opener.Open(ctx, a.acct, tpl, hooks); err != nil {
		a.finish(ctx, Result{Outcome: Failed, Reason: "open the browser: " + err.Error()})
		stop()
		return nil, ctx, nil, err
	}
	if a.current, err = r.Store.Password(ctx, name); err != nil {
		stop()
		return nil, ctx, nil, err
	}
	return a, ctx, stop, nil
}

// keepLease renews the lease every ttl/3 until ctx ends. A renewal that
// fails is retried, with a short backoff, until the lease would expire;
// only then, or at once when another run took the account, is the run
// cancelled.
func (r *Rotator) keepLease(ctx context.Context, cancel context.CancelCauseFunc, l store.Lease, ttl time.Duration) {
	const firstBackoff, maxBackoff = 50 * time.Millisecond, 2 * time.Second
	expires := time.Now().Add(ttl)
	backoff := firstBackoff
	t := time.NewTimer(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), expires)
		err := r.Store.RenewLock(rctx, l, ttl)
		rcancel()
		now := time.Now()
		switch {
		case err == nil:
			expires, backoff = start.Add(ttl), firstBackoff
			t.Reset(ttl / 3)
		case errors.Is(err, store.ErrLeaseLost) || !now.Before(expires):
			r.log().Error("lost the account lease", "account", l.Account, "err", err)
			cancel(fmt.Errorf("keep the lease on %s: %w", l.Account, err))
			return
		default:
			r.log().Warn("renew the account lease; retrying", "account", l.Account, "err", err)
			t.Reset(min(backoff, expires.Sub(now)))
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// prune keeps the last KeepRuns run folders of an account.
func (r *Rotator) prune(dir string) {
	keep := r.KeepRuns
	if keep <= 0 {
		keep = 10
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var runs []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "run-") {
			runs = append(runs, e.Name())
		}
	}
	sort.Strings(runs)
	for len(runs) >= keep {
		os.RemoveAll(filepath.Join(dir, runs[0]))
		runs = runs[1:]
	}
}

// values builds what a flow's variables stand for.
func (a *attempt) values(password, newPassword secret.String) browser.Values {
	v := browser.Values{Username: a.acct.Username, Password: password, NewPassword: newPassword, Params: map[string]string{}}
	for k, p := range a.tpl.Params {
		v.Params[k] = p.Default
	}
	if a.acct.TOTP != nil {
		gen := otp.Generator{Guard: a.r.Store}
		min := a.acct.TOTP.MinValidity
		if min == 0 {
			min = a.r.TOTPMinValidity
		}
		key := a.acct.TOTP.Key
		v.TOTP = func(ctx context.Context) (secret.String, error) {
			tok, err := gen.Fresh(ctx, a.name, key, min)
			return tok.Code, err
		}
	}
	return v
}

// finish records the outcome in the run, the account state and the audit
// log.
func (a *attempt) finish(ctx context.Context, res Result) Result {
	ctx = context.WithoutCancel(ctx)
	res.RunID = a.run.ID
	res.Held = a.held
	if a.holdNote != "" && res.Outcome != Succeeded {
		res.Reason += "; " + a.holdNote
	}
	a.run.Outcome = string(res.Outcome)
	a.run.Reason = res.Reason
	if c := res.Challenge; c != nil {
		a.recordChallenge(c)
	}
	if err := a.r.Store.FinishRun(ctx, a.run); err != nil {
		a.r.log().Error("record run", "account", a.name, "err", err)
	}
	var flagErr error
	switch {
	case a.run.Kind == "session":
		// An operator's session leaves the flag to the operator.
	case a.run.Kind == "verify" && res.Outcome == Succeeded && a.acct.State != store.StateFailed && a.acct.State != store.StateRunning:
		// A health check leaves the state it found.
	case a.run.Kind == "verify" && res.Outcome == Failed:
	case res.Outcome == Paused:
		flagErr = a.r.Store.Flag(ctx, a.name, store.StatePaused, res.Reason)
	case res.Outcome == NeedsOperator:
		flagErr = a.r.Store.Flag(ctx, a.name, store.StateNeedsOperator, res.Reason)
	case res.Outcome == Failed:
		flagErr = a.r.Store.Flag(ctx, a.name, store.StateFailed, res.Reason)
	case res.Outcome == Succeeded:
		flagErr = a.r.Store.Flag(ctx, a.name, store.StateActive, "")
	}
	if flagErr != nil {
		a.r.log().Error("record the account state", "account", a.name, "err", flagErr)
	}
	detail := fmt.Sprintf("run %d", a.run.ID)
	if res.Recovered != "" {
		detail += "; recovery: " + res.Recovered
	}
	if res.Reason != "" {
		detail += "; " + res.Reason
	}
	if err := a.r.Store.Audit(ctx, store.AuditEvent{Actor: a.r.Actor, Account: a.name, Action: a.run.Kind,
		Outcome: string(res.Outcome), Detail: detail}); err != nil {
		a.r.log().Error("audit", "account", a.name, "err", err)
	}
	return res
}

// stepFailure turns a flow's error into a result.
func stepFailure(flow string, err error) Result {
	var ce *browser.ChallengeError
	if errors.As(err, &ce) {
		return Result{Outcome: Paused, Challenge: ce,
			Reason: fmt.Sprintf("%s challenge (%s) at %s in the %s flow, step %s", ce.Kind, ce.Name, ce.URL, ce.Flow, ce.Step)}
	}
	var se *browser.StepError
	if errors.As(err, &se) {
		return Result{Outcome: Failed, Reason: fmt.Sprintf("%s flow, step %s (%s): %v", se.Flow, se.Path, se.Step.Describe(), se.Err)}
	}
	return Result{Outcome: Failed, Reason: fmt.Sprintf("%s flow: %v", flow, err)}
}

// login signs in with pw. It returns nil, a challenge, or a step error.
func (a *attempt) login(ctx context.Context, pw secret.String) error {
	return a.sess.Run(ctx, templates.FlowLogin, a.values(pw, secret.String{}))
}

// verifyWith verifies pw by signing out and in again (or the template's
// verify flow).
func (a *attempt) verifyWith(ctx context.Context, pw secret.String) error {
	if a.tpl.Flows.Verify != nil {
		return a.sess.Run(ctx, templates.FlowVerify, a.values(pw, pw))
	}
	if err := a.sess.Run(ctx, templates.FlowLogout, a.values(pw, secret.String{})); err != nil {
		return err
	}
	return a.login(ctx, pw)
}

// try signs in with pw through flow (login or verifyWith). It reports
// whether pw signed in, the flow's error, and a result when the run must
// stop (a challenge, or the run was interrupted). Every other failure is
// counted against the run's budget of failed sign-ins.
func (a *attempt) try(ctx context.Context, label string, pw secret.String, flow func(context.Context, secret.String) error) (bool, *Result, error) {
	err := flow(ctx, pw)
	if err == nil {
		return true, nil, nil
	}
	var ce *browser.ChallengeError
	if errors.As(err, &ce) {
		res := stepFailure(templates.FlowLogin, err)
		return false, &res, err
	}
	if ctx.Err() != nil {
		res := Result{Outcome: Failed, Reason: "interrupted: " + context.Cause(ctx).Error()}
		return false, &res, err
	}
	a.failed++
	a.r.event(a.name, "the %s password does not sign in (%d of %d failed sign-ins this run)", label, a.failed, a.budget)
	return false, nil, err
}

// spent reports whether the run may make no more failed sign-ins.
func (a *attempt) spent() bool { return a.failed >= a.budget }

// probeKind says what a probed password is.
type probeKind int

const (
	probeCandidate probeKind = iota
	probeCurrent
	probePrevious
)

// probe is one password recovery may try.
type probe struct {
	label string // names the password, never its value
	pw    secret.String
	kind  probeKind
	seq   int64 // the history entry of a previous password
}

// maxPreviousProbes bounds how many previous passwords recovery tries.
const maxPreviousProbes = 3

// probes lists what recovery tries, most likely first: the pending
// password and every other submitted candidate (newest first), the current
// password, the refused candidates, then up to maxPreviousProbes previous
// ones. A candidate proven never submitted (state pending) is left
// out, as are the passwords in skip (tried already in this run). needed is
// false when no candidate calls for recovery.
func (a *attempt) probes(ctx context.Context, skip ...secret.String) (ps []probe, needed bool, err error) {
	cands, err := a.r.Store.Candidates(ctx, a.name)
	if err != nil {
		return nil, false, fmt.Errorf("read the candidate passwords: %w", err)
	}
	add := func(p probe) {
		for _, s := range skip {
			if s.Equal(p.pw) {
				return
			}
		}
		for _, q := range ps {
			if q.pw.Equal(p.pw) {
				return
			}
		}
		ps = append(ps, p)
	}
	candLabel := func(c store.Candidate) string {
		switch {
		case c.Live:
			return "pending"
		case c.State == store.CandidateRefused:
			return fmt.Sprintf("refused candidate #%d", c.Seq)
		}
		return fmt.Sprintf("candidate #%d", c.Seq)
	}
	for _, c := range cands {
		if c.Live && c.State == store.CandidateSubmitted {
			add(probe{label: candLabel(c), pw: c.Password, kind: probeCandidate})
			needed = true
		}
	}
	for _, c := range cands {
		if !c.Live && c.State == store.CandidateSubmitted {
			add(probe{label: candLabel(c), pw: c.Password, kind: probeCandidate})
			needed = true
		}
	}
	add(probe{label: "current", pw: a.current, kind: probeCurrent})
	// A refused candidate comes after current but before the previous
	// passwords: the page that refused it may have lied (a run killed
	// while proving it leaves it unproven), which is likelier than the
	// site holding a password it was changed away from.
	for _, c := range cands {
		if c.State == store.CandidateRefused {
			add(probe{label: candLabel(c), pw: c.Password, kind: probeCandidate})
			needed = true
		}
	}
	hist, err := a.r.Store.History(ctx, a.name)
	if err != nil {
		return nil, false, fmt.Errorf("read the previous passwords: %w", err)
	}
	for i, h := range hist {
		if i == maxPreviousProbes {
			break
		}
		add(probe{label: fmt.Sprintf("previous #%d", h.Seq), pw: h.Password, kind: probePrevious, seq: h.Seq})
	}
	return ps, needed, nil
}

func labels(ps []probe) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.label)
	}
	return strings.Join(out, ", ")
}

// recovery is what a recovery found.
type recovery struct {
	// found says it for the record; empty when no recovery was needed.
	found string
	// stop ends the run.
	stop *Result
	// promoted is set when a candidate signed in and is now current.
	promoted bool
}

// recover finds which password the site accepts when candidates may be
// live on it (or always, with force): it probes them in order of
// likelihood within the run's budget of failed sign-ins, and makes the one
// that signs in current. skip are passwords this run already saw fail.
func (a *attempt) recover(ctx context.Context, force bool, skip ...secret.String) recovery {
	ps, needed, err := a.probes(ctx, skip...)
	if err != nil {
		return recovery{found: "not run", stop: &Result{Outcome: Failed, Reason: "recovery: " + err.Error()}}
	}
	if !needed && !force {
		return recovery{}
	}
	a.r.event(a.name, "recovery: probing %s", labels(ps))
	a.sess.TryLogout(ctx)
	for i, p := range ps {
		if a.spent() {
			return recovery{found: "budget spent", stop: &Result{Outcome: NeedsOperator,
				Reason: fmt.Sprintf("recovery stopped after %d failed sign-ins, the run's budget; not tried: %s; every password is kept; an operator must check the account",
					a.failed, labels(ps[i:]))}}
		}
		if rec, done := a.signInWith(ctx, p, "recovery stopped: "); done {
			return rec
		}
	}
	return recovery{found: "no password signs in", stop: &Result{Outcome: NeedsOperator,
		Reason: fmt.Sprintf("no stored password signs in (tried: %s); every one is kept; an operator must check the account", labels(ps))}}
}

// signInWith signs in with p's password: done when it signed in (and was
// adopted) or a challenge or an interruption stopped the run (its reason
// prefixed by what).
func (a *attempt) signInWith(ctx context.Context, p probe, what string) (recovery, bool) {
	ok, stop, _ := a.try(ctx, p.label, p.pw, a.login)
	if stop != nil {
		stop.Reason = what + stop.Reason + "; every password is kept"
		return recovery{found: "stopped", stop: stop}, true
	}
	if ok {
		return a.adopt(ctx, p), true
	}
	return recovery{}, false
}

// adopt makes the probe that signed in current.
func (a *attempt) adopt(ctx context.Context, p probe) recovery {
	ctx = context.WithoutCancel(ctx)
	switch p.kind {
	case probeCandidate:
		if err := a.r.Store.Promote(ctx, a.name, p.pw, "rotation (recovered: the "+p.label+" password was live)"); err != nil {
			return recovery{found: p.label + " password signs in; promotion failed",
				stop: &Result{Outcome: Failed, Reason: "promote the recovered password (it signs in and is kept; recovery will promote it): " + err.Error()}}
		}
		a.current = p.pw
		a.r.event(a.name, "recovery: the %s password signs in; promoted to current", p.label)
		return recovery{found: p.label + " password signs in; promoted", promoted: true}
	case probeCurrent:
		if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
			return recovery{found: "current password signs in", stop: &Result{Outcome: Failed, Reason: "record what recovery found: " + err.Error()}}
		}
		a.r.event(a.name, "recovery: the current password signs in; no candidate was set, the pending one is kept as the next")
		return recovery{found: "current password signs in; pending kept as the next candidate"}
	}
	if err := a.r.Store.RestorePrevious(ctx, a.name, p.seq, "recovered: a previous password signs in"); err != nil {
		return recovery{found: p.label + " signs in; restore failed", stop: &Result{Outcome: Failed, Reason: "restore the previous password: " + err.Error()}}
	}
	a.current = p.pw
	if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
		return recovery{found: p.label + " password signs in; restored as current", stop: &Result{Outcome: Failed, Reason: "record what recovery found: " + err.Error()}}
	}
	a.r.event(a.name, "recovery: the %s password signs in; it is current again", p.label)
	return recovery{found: p.label + " password signs in; restored as current"}
}

// checkState refuses accounts waiting for an operator.
func checkState(acct store.Account) *Result {
	switch acct.State {
	case store.StateNeedsOperator:
		return &Result{Outcome: Refused, Reason: "the account needs an operator (" + acct.FlagReason + "); clear it with `rotator account clear " + acct.Name + "`"}
	case store.StatePaused:
		return &Result{Outcome: Refused, Reason: "the account is paused for an operator (" + acct.FlagReason + "); clear it with `rotator account clear " + acct.Name + "`"}
	}
	return nil
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
		return &Result{Outcome: Refused, NextAllowed: next,
			Reason: fmt.Sprintf("%s; the next change is allowed at %s", why, next.UTC().Format(time.RFC3339))}, nil
	}
	return nil, nil
}

// Rotate changes the account's password: lock, recover an unfinished
// rotation, login, change, verify, promote. The account's state and rate
// limit are checked before the lease (cheaply) and again under it.
func (r *Rotator) Rotate(ctx context.Context, name string) (Result, error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return Result{}, err
	}
	if res, err := r.mayRotate(ctx, acct); err != nil || res != nil {
		if res == nil {
			return Result{}, err
		}
		return *res, err
	}
	a, ctx, stop, err := r.begin(ctx, name, "rotate", r.mayRotate)
	if ref := (*refusal)(nil); errors.As(err, &ref) {
		return ref.res, nil
	}
	if err != nil {
		return Result{}, err
	}
	defer stop()
	r.Store.Flag(ctx, name, store.StateRunning, "")
	return a.rotate(ctx), nil
}

// candidate returns the pending password to submit again, or a new one
// stored as a candidate before the change form is touched.
func (a *attempt) candidate(ctx context.Context) (secret.String, int64, *Result) {
	cands, err := a.r.Store.Candidates(ctx, a.name)
	if err != nil {
		return secret.String{}, 0, &Result{Outcome: Failed, Reason: "read the candidate passwords (nothing changed): " + err.Error()}
	}
	for _, c := range cands {
		if c.Live && c.State != store.CandidateRefused {
			if c.Seq == 0 { // stored by an older rotator: number it
				if c.Seq, err = a.r.Store.AddCandidate(ctx, a.name, c.Password); err != nil {
					return secret.String{}, 0, &Result{Outcome: Failed, Reason: "store the pending password (nothing changed): " + err.Error()}
				}
			}
			return c.Password, c.Seq, nil
		}
	}
	return a.newCandidate(ctx)
}

func (a *attempt) newCandidate(ctx context.Context) (secret.String, int64, *Result) {
	pw, err := GeneratePassword(a.tpl.Rules, a.r.Random)
	if err != nil {
		return pw, 0, &Result{Outcome: Failed, Reason: "generate a password: " + err.Error()}
	}
	seq, err := a.r.Store.AddCandidate(ctx, a.name, pw)
	if err != nil {
		return pw, 0, &Result{Outcome: Failed, Reason: "store the new password (nothing submitted): " + err.Error()}
	}
	a.r.event(a.name, "new password stored as candidate #%d", seq)
	return pw, seq, nil
}

// end records res, with what recovery found.
func (a *attempt) end(ctx context.Context, res Result, found string) Result {
	if res.Recovered == "" {
		res.Recovered = found
	}
	return a.finish(ctx, res)
}

func (a *attempt) rotate(ctx context.Context) Result {
	r := a.r
	rec := a.recover(ctx, false)
	switch {
	case rec.stop != nil:
		return a.end(ctx, *rec.stop, rec.found)
	case rec.promoted:
		// The unfinished rotation did change the password: that was this
		// rotation's change.
		return a.end(ctx, Result{Outcome: Succeeded}, rec.found)
	case rec.found == "":
		if ok, stop, err := a.try(ctx, "current", a.current, a.login); stop != nil {
			return a.end(ctx, *stop, "")
		} else if !ok {
			return a.currentFailed(ctx, err)
		}
	}
	// Signed in with the current password.
	found := rec.found
	need := min(2, a.budget) // a candidate's proof: it, then current
	if a.budget-a.failed < need {
		return a.end(ctx, Result{Outcome: Failed, Reason: fmt.Sprintf(
			"%d of %d failed sign-ins spent; too few left to verify a new password; nothing submitted", a.failed, a.budget)}, found)
	}
	cand, seq, stop := a.candidate(ctx)
	if stop != nil {
		return a.end(ctx, *stop, found)
	}
	tries := r.MaxCandidates
	if tries <= 0 {
		tries = 3
	}
	for try := 1; ; try++ {
		if err := r.Store.MarkCandidate(ctx, a.name, seq, store.CandidateSubmitted); err != nil {
			return a.end(ctx, Result{Outcome: Failed, Reason: "mark the new password submitted (nothing submitted): " + err.Error()}, found)
		}
		a.changeSteps, a.mayHaveSubmitted = 0, false
		cerr := a.sess.Run(ctx, templates.FlowChange, a.values(a.current, cand))
		if cerr == nil {
			break
		}
		out := stepFailure(templates.FlowChange, cerr)
		if out.Outcome == Paused {
			out.Reason += "; the new password is kept and recovery will probe it"
			return a.end(ctx, out, found)
		}
		if a.changeSteps > 0 && !a.mayHaveSubmitted {
			// The flow failed before any step that could send the form:
			// the new password never reached the site. It stays the
			// next candidate, and recovery need not probe it.
			if err := r.Store.MarkCandidate(ctx, a.name, seq, store.CandidatePending); err != nil {
				out.Reason += "; the new password is kept and recovery will probe it"
			} else {
				out.Reason += "; the new password was never sent and is kept for the next rotation"
			}
			return a.end(ctx, out, found)
		}
		rejected := false
		if ctx.Err() == nil {
			rejected, _ = a.sess.Rejected(ctx)
		}
		if rejected {
			// The site's word, recorded at once: the password is never
			// submitted again, and recovery probes it after current.
			if err := r.Store.MarkCandidate(ctx, a.name, seq, store.CandidateRefused); err != nil {
				return a.end(ctx, Result{Outcome: Failed, Reason: out.Reason + "; mark the refused password (it is kept): " + err.Error()}, found)
			}
			r.event(a.name, "the page shows a rejection of the new password; proving which password works")
		} else {
			r.event(a.name, "the change flow failed; proving which password works")
		}
		// Whatever the page says, find out which password works now:
		// the candidate first (the page may lie), then current.
		res, currentSignsIn := a.prove(ctx, cand, out)
		if !currentSignsIn {
			return a.end(ctx, res, found)
		}
		if !rejected {
			// Current signs in: the change did not happen. The candidate
			// stays pending for the next rotation.
			if err := r.Store.ResolveCandidates(ctx, a.name); err != nil {
				out.Reason += "; record that the current password signs in: " + err.Error()
			}
			return a.end(ctx, out, found)
		}
		if try >= tries || a.budget-a.failed < need {
			out.Reason = fmt.Sprintf("the site refused %d new passwords; last: %s", try, out.Reason)
			if try < tries {
				out.Reason += fmt.Sprintf("; %d of %d failed sign-ins spent, too few to verify another", a.failed, a.budget)
			}
			if err := r.Store.ResolveCandidates(ctx, a.name); err != nil {
				out.Reason += "; clear the refused passwords: " + err.Error()
			}
			return a.end(ctx, out, found)
		}
		if cand, seq, stop = a.newCandidate(ctx); stop != nil {
			return a.end(ctx, *stop, found)
		}
		r.event(a.name, "the site refused the new password; trying another (%d of %d)", try+1, tries)
	}
	r.event(a.name, "change submitted; verifying the new password")

	ok, stop, verr := a.try(ctx, "new", cand, a.verifyWith)
	if stop != nil {
		stop.Reason += "; the new password is kept and recovery will probe it"
		return a.end(ctx, *stop, found)
	}
	if !ok {
		out := stepFailure(templates.FlowVerify, verr)
		out.Reason = "the site confirmed the change but the new password does not sign in (a site may store something other than what was typed): " + out.Reason
		rec := a.recover(ctx, true, cand)
		switch {
		case rec.stop != nil:
			rec.stop.Reason = out.Reason + "; then " + rec.stop.Reason
			return a.end(ctx, *rec.stop, rec.found)
		case rec.promoted:
			return a.end(ctx, Result{Outcome: Succeeded}, rec.found)
		}
		return a.end(ctx, out, rec.found)
	}
	if err := r.Store.Promote(context.WithoutCancel(ctx), a.name, cand, "rotation"); err != nil {
		return a.end(ctx, Result{Outcome: Failed, Reason: "promote (the new password signs in and is kept; recovery will promote it): " + err.Error()}, found)
	}
	r.event(a.name, "new password verified and promoted to current")
	return a.end(ctx, Result{Outcome: Succeeded}, found)
}

// prove signs out after a change flow that did not end cleanly (out says
// how) and signs in with the candidate, then with current. A candidate
// that signs in is promoted (the page lied): Succeeded. When current signs
// in, currentSignsIn is true and the caller decides. Otherwise recovery goes on
// with the other stored passwords.
func (a *attempt) prove(ctx context.Context, cand secret.String, out Result) (res Result, currentSignsIn bool) {
	if ctx.Err() != nil {
		out.Reason += "; interrupted (" + context.Cause(ctx).Error() + "): the new password is kept and recovery will probe it"
		return out, false
	}
	a.sess.TryLogout(ctx)
	for _, p := range []probe{{label: "new", pw: cand, kind: probeCandidate}, {label: "current", pw: a.current, kind: probeCurrent}} {
		if a.spent() {
			out.Reason += fmt.Sprintf("; %d failed sign-ins spent, the run's budget; the new password is kept and recovery will probe it", a.failed)
			out.Outcome = NeedsOperator
			return out, false
		}
		ok, stop, _ := a.try(ctx, p.label, p.pw, a.login)
		if stop != nil {
			stop.Reason = out.Reason + "; then " + stop.Reason + "; the new password is kept"
			return *stop, false
		}
		if !ok {
			continue
		}
		if p.kind == probeCurrent {
			return out, true
		}
		if err := a.r.Store.Promote(context.WithoutCancel(ctx), a.name, cand, "rotation (the page did not confirm, the new password signs in)"); err != nil {
			return Result{Outcome: Failed, Reason: "promote (the new password signs in and is kept; recovery will promote it): " + err.Error()}, false
		}
		a.current = cand
		a.r.event(a.name, "the new password signs in although the page did not confirm it; promoted to current")
		return Result{Outcome: Succeeded}, false
	}
	rec := a.recover(ctx, true, cand, a.current)
	switch {
	case rec.stop != nil:
		rec.stop.Reason = out.Reason + "; then " + rec.stop.Reason
		rec.stop.Recovered = rec.found
		return *rec.stop, false
	case rec.promoted:
		return Result{Outcome: Succeeded, Recovered: rec.found}, false
	}
	out.Recovered = rec.found
	return out, false
}

// Verify is a health check: sign in with the current password, changing
// nothing. An account with candidates that may be live is recovered first.
func (r *Rotator) Verify(ctx context.Context, name string) (Result, error) {
	a, ctx, stop, err := r.begin(ctx, name, "verify", nil)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	rec := a.recover(ctx, false)
	if rec.stop != nil {
		return a.end(ctx, *rec.stop, rec.found), nil
	}
	if rec.found != "" {
		return a.end(ctx, Result{Outcome: Succeeded}, rec.found), nil
	}
	a.sess.TryLogout(ctx)
	ok, stopRes, lerr := a.try(ctx, "current", a.current, a.login)
	if stopRes != nil {
		return a.end(ctx, *stopRes, ""), nil
	}
	if !ok {
		return a.currentFailed(ctx, lerr), nil
	}
	return a.end(ctx, Result{Outcome: Succeeded}, ""), nil
}

// currentFailed ends a run whose sign-in with the current password failed
// (loginErr) although recovery saw no candidate to probe: the account's
// live candidate (one kept for the next rotation after current signed in,
// possibly submitted by a run that died) may have reached the site late (a
// slow back end, a killed run's request still in flight). It is probed,
// within the budget, and promoted when it signs in: that run succeeded.
func (a *attempt) currentFailed(ctx context.Context, loginErr error) Result {
	late := a.tryLiveCandidate(ctx)
	switch {
	case late.stop != nil:
		return a.end(ctx, *late.stop, late.found)
	case late.promoted:
		return a.end(ctx, Result{Outcome: Succeeded}, late.found)
	}
	return a.end(ctx, stepFailure(templates.FlowLogin, loginErr), late.found)
}

func (a *attempt) tryLiveCandidate(ctx context.Context) recovery {
	cands, err := a.r.Store.Candidates(ctx, a.name)
	if err != nil {
		return recovery{found: "the pending password could not be read: " + err.Error()}
	}
	for _, c := range cands {
		if !c.Live || c.State == store.CandidateRefused || c.Password.Equal(a.current) || a.spent() {
			continue
		}
		a.r.event(a.name, "the current password does not sign in; probing the pending password, which may have reached the site late")
		a.sess.TryLogout(ctx)
		if rec, done := a.signInWith(ctx, probe{label: "pending", pw: c.Password, kind: probeCandidate}, "probing the pending password: "); done {
			return rec
		}
		return recovery{found: "the pending password does not sign in either"}
	}
	return recovery{}
}
