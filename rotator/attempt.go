package rotator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

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
	// held is set when the attempt kept its browser for an operator
	// (Events heard of the pause then); holdNote says how the hold ended.
	held     bool
	holdNote string
	// slot is the caller's share of capacity, given back while the run
	// waits for an operator (nil: none).
	slot Slot
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

// refusal is a run that may not start, found under the lease.
type refusal struct{ res Result }

func (e *refusal) Error() string { return "refused: " + e.res.Reason }

// begin locks the account, records the run and opens the browser. The
// returned stop function ends all of it. admit, when set, decides in the
// transaction that takes the lease whether the run may start (the cap and
// the gap), and precheck, when set, just after, under the lease (the
// account's state); a refusal is returned as a *refusal error.
func (r *Rotator) begin(ctx context.Context, acct store.Account, kind rotation.Kind, precheck func(context.Context, store.Account) (*Result, error), admit store.Admit) (*attempt, context.Context, func(), error) {
	tpl, err := r.Templates(acct.Template)
	if err != nil {
		return nil, ctx, nil, fmt.Errorf("template %s of account %s: %w", acct.Template, acct.Name, err)
	}
	a := &attempt{r: r, name: acct.Name, acct: acct, tpl: tpl, owner: newOwner(), budget: r.budget(tpl)}
	ctx, stop, err := a.lock(ctx, precheck, admit)
	if err != nil {
		return nil, ctx, nil, err
	}
	a.run = store.Run{Account: a.name, Kind: kind, Owner: a.owner}
	if a.run.ID, err = r.Store.StartRun(ctx, a.run); err != nil {
		stop()
		return nil, ctx, nil, err
	}
	if r.ArtifactDir != nil {
		if dir := r.ArtifactDir(a.name); dir != "" {
			a.run.Artifacts = filepath.Join(dir, fmt.Sprintf("run-%06d", a.run.ID))
			r.prune(dir)
		}
	}
	hooks := Hooks{ArtifactDir: a.run.Artifacts, OnStep: a.onStep}
	if kind != rotation.Session {
		hooks.OnChallenge = a.hold
	}
	if a.sess, err = r.Opener.Open(ctx, a.acct, tpl, hooks); err != nil {
		a.finish(ctx, Result{Outcome: rotation.Failed, Reason: "open the browser: " + err.Error()})
		stop()
		return nil, ctx, nil, err
	}
	if a.current, err = r.Store.Password(ctx, a.name); err != nil {
		stop()
		return nil, ctx, nil, err
	}
	return a, ctx, stop, nil
}

// lock takes the account's lease, checks precheck under it and keeps the
// lease renewed; stop ends the run: the renewal, the browser, the lease.
func (a *attempt) lock(ctx context.Context, precheck func(context.Context, store.Account) (*Result, error), admit store.Admit) (context.Context, func(), error) {
	r := a.r
	ttl := r.LockTTL
	if ttl == 0 {
		ttl = 2 * time.Minute
	}
	lease, err := r.Store.LockAccountIf(ctx, a.name, a.owner, ttl, admit)
	if err != nil {
		return ctx, nil, err
	}
	a.lease = lease
	// Every write of the run is fenced by the lease.
	ctx = store.WithLease(ctx, lease)
	unlock := func() { _ = r.Store.UnlockAccount(context.WithoutCancel(ctx), lease) }
	if precheck != nil {
		// The account as it is now that no other run may change it.
		if a.acct, err = r.Store.Account(ctx, a.name); err != nil {
			unlock()
			return ctx, nil, err
		}
		res, err := precheck(ctx, a.acct)
		if err != nil || res != nil {
			unlock()
			if err == nil {
				err = &refusal{res: *res}
			}
			return ctx, nil, err
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
	return ctx, stop, nil
}

// onStep records a step of the run as the browser reports it.
func (a *attempt) onStep(rep browser.StepReport) {
	st := store.RunStep{Flow: rep.Flow, Step: rep.Path, Kind: string(rep.Step.Kind),
		Matched: rep.Matched, Millis: rep.Duration.Milliseconds(), OK: rep.Err == nil, Note: rep.Note, At: a.r.now().UTC()}
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
	if a.r.OnStep != nil {
		a.r.OnStep(a.name, rep)
	}
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
		if bs, ok := a.slot.(BrowserSlot); ok {
			gen.Clock = slotClock{Clock: otp.SystemClock{}, slot: bs}
		}
		min := a.acct.TOTP.MinValidityOr(a.r.TOTPMinValidity)
		key := a.acct.TOTP.Key
		v.TOTP = func(ctx context.Context) (secret.String, error) {
			tok, err := gen.Fresh(ctx, a.name, key, min)
			return tok.Code, err
		}
	}
	return v
}

// slotClock gives the run's browser slot back while it waits for a fresh
// TOTP code, which may take most of a period: the slot goes to another
// rotation meanwhile.
type slotClock struct {
	otp.Clock
	slot BrowserSlot
}

func (c slotClock) Sleep(ctx context.Context, d time.Duration) error {
	c.slot.ReleaseBrowser()
	err := c.Clock.Sleep(ctx, d)
	// The code is chosen after the slot is back: a long wait for it only
	// makes Fresh look at the clock again.
	if aerr := c.slot.AcquireBrowser(ctx); err == nil && aerr != nil {
		err = fmt.Errorf("wait for a browser slot: %w", aerr)
	}
	return err
}

// finish records the outcome in the run, the account state and the audit
// log, and tells Events of a pause no operator was shown.
func (a *attempt) finish(ctx context.Context, res Result) Result {
	ctx = context.WithoutCancel(ctx)
	res.RunID = a.run.ID
	if a.holdNote != "" && res.Outcome != rotation.Succeeded {
		res.Reason += "; " + a.holdNote
	}
	a.run.Outcome = res.Outcome
	a.run.Reason = res.Reason
	if c := res.Challenge; c != nil {
		a.recordChallenge(c)
	}
	if err := a.r.Store.FinishRun(ctx, a.run); err != nil {
		a.r.log().Error("record run", "account", a.name, "err", err)
	}
	if state, reason, ok := a.stateAfter(res); ok {
		if err := a.r.Store.Flag(ctx, a.name, state, reason); err != nil {
			a.r.log().Error("record the account state", "account", a.name, "err", err)
		}
	}
	detail := fmt.Sprintf("run %d", a.run.ID)
	if res.Recovered.Ran() {
		detail += "; recovery: " + res.Recovered.String()
	}
	if res.Reason != "" {
		detail += "; " + res.Reason
	}
	if err := a.r.Store.Audit(ctx, store.AuditEvent{Actor: a.r.Actor, Account: a.name, Action: string(a.run.Kind),
		Outcome: string(res.Outcome), Detail: detail}); err != nil {
		a.r.log().Error("audit", "account", a.name, "err", err)
	}
	if res.Outcome == rotation.Paused && !a.held {
		a.r.paused(a, res.Challenge, res.Reason)
	}
	return res
}

// stateAfter is the account state a run's result leaves (ok false: leave
// the state as it is).
func (a *attempt) stateAfter(res Result) (store.State, string, bool) {
	switch {
	case a.run.Kind == rotation.Session:
		// An operator's session leaves the flag to the operator.
	case a.run.Kind == rotation.Verify && res.Outcome == rotation.Succeeded && a.acct.State != store.StateFailed && a.acct.State != store.StateRunning:
		// A health check leaves the state it found.
	case a.run.Kind == rotation.Verify && res.Outcome == rotation.Failed:
	case res.Outcome == rotation.Paused:
		return store.StatePaused, res.Reason, true
	case res.Outcome == rotation.NeedsOperator:
		return store.StateNeedsOperator, res.Reason, true
	case res.Outcome == rotation.Failed:
		return store.StateFailed, res.Reason, true
	case res.Outcome == rotation.Succeeded, res.Outcome == rotation.Deferred:
		return store.StateActive, "", true
	}
	return "", "", false
}

// paused tells Events that a run paused.
func (r *Rotator) paused(a *attempt, c *browser.ChallengeError, reason string) {
	if r.Events != nil {
		r.Events.Paused(Pause{Account: a.name, Template: a.acct.Template, RunID: a.run.ID, Challenge: c, Reason: reason})
	}
}

// stepFailure turns a flow's error into a result.
func stepFailure(flow string, err error) Result {
	var lf *logoutFailed
	if errors.As(err, &lf) {
		out := stepFailure(templates.FlowLogout, lf.logout)
		in := stepFailure(templates.FlowLogin, lf.login)
		in.Reason = out.Reason + "; then, signing in anyway, " + in.Reason
		if out.Step != nil {
			in.Step = out.Step
		}
		return in
	}
	var ce *browser.ChallengeError
	if errors.As(err, &ce) {
		return Result{Outcome: rotation.Paused, Challenge: ce,
			Reason: fmt.Sprintf("%s challenge (%s) at %s in the %s flow, step %s", ce.Kind, ce.Name, ce.URL, ce.Flow, ce.Step)}
	}
	var se *browser.StepError
	if errors.As(err, &se) {
		return Result{Outcome: rotation.Failed, Step: se, Reason: fmt.Sprintf("%s flow, step %s (%s): %v", se.Flow, se.Path, se.Step.Describe(), se.Err)}
	}
	return Result{Outcome: rotation.Failed, Reason: fmt.Sprintf("%s flow: %v", flow, err)}
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
		// A logout that fails may still have signed out (a GET /logout
		// page with nothing left to click): the sign-in decides, and an
		// error names both flows, in the order they failed.
		var ce *browser.ChallengeError
		if errors.As(err, &ce) || ctx.Err() != nil {
			return err
		}
		a.r.event(a.name, "the logout flow failed (%s); signing in with the new password anyway", stepFailure(templates.FlowLogout, err).Reason)
		if lerr := a.login(ctx, pw); lerr != nil {
			return &logoutFailed{logout: err, login: lerr}
		}
		return nil
	}
	return a.login(ctx, pw)
}

// logoutFailed is a verification whose logout flow failed, and whose
// sign-in, tried anyway, failed too.
type logoutFailed struct{ logout, login error }

func (e *logoutFailed) Error() string {
	return fmt.Sprintf("logout flow: %v; then, signing in anyway: %v", e.logout, e.login)
}

// Unwrap gives the sign-in's error first: a challenge there pauses the run.
func (e *logoutFailed) Unwrap() []error { return []error{e.login, e.logout} }

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
		res := Result{Outcome: rotation.Failed, Reason: "interrupted: " + context.Cause(ctx).Error()}
		return false, &res, err
	}
	if why := a.lost(); why != "" {
		res := a.lostResult(ctx, fmt.Sprintf(
			"%s during the sign-in with the %s password, which says nothing of it; the next run, in a new browser, recovers", why, label))
		return false, &res, err
	}
	a.failed++
	a.r.event(a.name, "the %s password does not sign in (%d of %d failed sign-ins this run)", label, a.failed, a.budget)
	return false, nil, err
}

// lost says why the session's page is gone (its renderer crashed, or the
// browser exited), or "" while it lives.
func (a *attempt) lost() string {
	if l, ok := a.sess.(interface{ Lost() string }); ok {
		return l.Lost()
	}
	return ""
}

// lostReasons start the reason of a run whose page was lost (lost).
var lostReasons = []string{browserExited, pageCrashed}

// lostResult ends a run whose page was lost: deferred, for the next run
// to recover in a new browser, unless the run before it was lost too. A
// site whose page crashes the browser at every run, or a browser that
// dies at every run, then fails the account's runs, which back off and
// flag it for an operator, instead of trying again every few seconds.
func (a *attempt) lostResult(ctx context.Context, reason string) Result {
	runs, err := a.r.Store.Runs(context.WithoutCancel(ctx), a.name, 2)
	if err == nil {
		for _, prev := range runs {
			if prev.ID == a.run.ID || prev.Outcome != rotation.Deferred {
				continue
			}
			for _, l := range lostReasons {
				if strings.HasPrefix(prev.Reason, l) {
					return Result{Outcome: rotation.Failed, Reason: reason + "; the run before it lost its page too, so this one fails"}
				}
			}
			break
		}
	}
	return Result{Outcome: rotation.Deferred, Reason: reason}
}

// spent reports whether the run may make no more failed sign-ins.
func (a *attempt) spent() bool { return a.failed >= a.budget }
