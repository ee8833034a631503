// Package rotator changes an account's password on its site and always holds
// the password that works there.
//
// # The no-loss protocol
//
//  1. The new password is generated once and stored, encrypted, as the
//     account's pending password (a durable, synced transaction) before the
//     change flow starts. Retries reuse it.
//  2. Promotion (pending to current, current to history) is one transaction,
//     made only after the new password signed in.
//  3. Before every rotation, an account with a pending password is probed:
//     sign in with the pending password, then the current one, then the
//     previous ones. Whichever works becomes current, and the audit log says
//     what happened. If none works the account goes to needs_operator, keeps
//     every password, and nothing automatic touches it again.
//  4. One rotation per account at a time, across processes: a lease in the
//     vault.
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
	Pending(ctx context.Context, name string) (secret.String, error)
	SetPending(ctx context.Context, name string, pw secret.String) error
	ReplacePending(ctx context.Context, name string, old, new secret.String) error
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

// DefaultMaxChanges is the most password changes per account in any 24 hours.
const DefaultMaxChanges = 2

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
	max := r.MaxChanges
	if max <= 0 {
		max = DefaultMaxChanges
	}
	l, err := r.Store.GetLimit(ctx, name)
	if err != nil {
		return time.Time{}, "", err
	}
	policy := schedule.Policy{MaxChanges: max, MinGap: r.MinGap}.ForAccount(l.Max, l.Override)
	now := r.now()
	window := 24 * time.Hour
	if r.MinGap > window {
		window = r.MinGap
	}
	changes, err := r.Store.Changes(ctx, name, now.Add(-window))
	if err != nil {
		return time.Time{}, "", err
	}
	at, why := policy.NextAllowed(changes, now)
	if !at.After(now) {
		return time.Time{}, "", nil
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
	current secret.String
	// held is set when the attempt kept its browser for an operator;
	// holdNote says how the hold ended.
	held     bool
	holdNote string
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

// begin locks the account, records the run and opens the browser. The
// returned stop function ends all of it.
func (r *Rotator) begin(ctx context.Context, name, kind string) (*attempt, context.Context, func(), error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return nil, ctx, nil, err
	}
	tpl, err := r.Templates(acct.Template)
	if err != nil {
		return nil, ctx, nil, fmt.Errorf("template %s of account %s: %w", acct.Template, name, err)
	}
	a := &attempt{r: r, name: name, acct: acct, tpl: tpl, owner: newOwner()}
	ttl := r.LockTTL
	if ttl == 0 {
		ttl = 2 * time.Minute
	}
	lease, err := r.Store.LockAccount(ctx, name, a.owner, ttl)
	if err != nil {
		return nil, ctx, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Store.RenewLock(context.WithoutCancel(ctx), lease, ttl); err != nil {
					r.log().Error("lost the account lock", "account", name, "err", err)
					cancel()
					return
				}
			}
		}
	}()
	stop := func() {
		cancel()
		<-renewDone
		if a.sess != nil {
			a.sess.Close()
		}
		_ = r.Store.UnlockAccount(context.WithoutCancel(ctx), lease)
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
		if r.OnStep != nil {
			r.OnStep(name, rep)
		}
	}
	hooks := Hooks{ArtifactDir: a.run.Artifacts, OnStep: onStep}
	if kind != "session" {
		hooks.OnChallenge = a.hold
	}
	if a.sess, err = r.Opener.Open(ctx, acct, tpl, hooks); err != nil {
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
	switch {
	case a.run.Kind == "session":
		// An operator's session leaves the flag to the operator.
	case a.run.Kind == "verify" && res.Outcome == Succeeded && a.acct.State != store.StateFailed && a.acct.State != store.StateRunning:
		// A health check leaves the state it found.
	case a.run.Kind == "verify" && res.Outcome == Failed:
	case res.Outcome == Paused:
		a.r.Store.Flag(ctx, a.name, store.StatePaused, res.Reason)
	case res.Outcome == NeedsOperator:
		a.r.Store.Flag(ctx, a.name, store.StateNeedsOperator, res.Reason)
	case res.Outcome == Failed:
		a.r.Store.Flag(ctx, a.name, store.StateFailed, res.Reason)
	case res.Outcome == Succeeded:
		a.r.Store.Flag(ctx, a.name, store.StateActive, "")
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

// signOutAndIn verifies pw by signing out and in again (or the template's
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

// probe is one password recovery may try.
type probe struct {
	label string
	pw    secret.String
	seq   int64 // history entry, for previous passwords
}

// maxPreviousProbes bounds how many previous passwords recovery tries.
const maxPreviousProbes = 3

// recover finds which password the site accepts when a pending one exists:
// pending, then current, then previous ones. It returns what it found
// (for the record) and a result when the attempt must stop.
func (a *attempt) recover(ctx context.Context, pending secret.String) (string, *Result) {
	a.r.event(a.name, "recovery: an unfinished rotation left a pending password; probing pending, current, previous")
	probes := []probe{{label: "pending", pw: pending}, {label: "current", pw: a.current}}
	hist, err := a.r.Store.History(ctx, a.name)
	if err == nil {
		for i, h := range hist {
			if i == maxPreviousProbes {
				break
			}
			probes = append(probes, probe{label: fmt.Sprintf("previous #%d", h.Seq), pw: h.Password, seq: h.Seq})
		}
	}
	a.sess.TryLogout(ctx)
	for i, p := range probes {
		if i > 0 && probes[i-1].pw.Equal(p.pw) {
			continue
		}
		err := a.login(ctx, p.pw)
		if err == nil {
			return a.adopt(ctx, p)
		}
		var ce *browser.ChallengeError
		if errors.As(err, &ce) {
			res := stepFailure(templates.FlowLogin, err)
			res.Reason = "recovery stopped by a " + res.Reason
			return "stopped by a challenge", &res
		}
		a.r.event(a.name, "recovery: the %s password does not sign in", p.label)
		if ctx.Err() != nil {
			res := Result{Outcome: Failed, Reason: "recovery interrupted: " + ctx.Err().Error()}
			return "interrupted", &res
		}
	}
	res := Result{Outcome: NeedsOperator,
		Reason: "no stored password signs in (pending, current, previous); every one is kept; an operator must check the account"}
	return "no password signs in", &res
}

// adopt makes the probe that signed in current.
func (a *attempt) adopt(ctx context.Context, p probe) (string, *Result) {
	ctx = context.WithoutCancel(ctx)
	switch p.label {
	case "pending":
		if err := a.r.Store.Promote(ctx, a.name, p.pw, "rotation (recovered: the pending password was live)"); err != nil {
			res := Result{Outcome: Failed, Reason: "promote the recovered password: " + err.Error()}
			return "pending signs in; promotion failed", &res
		}
		a.current = p.pw
		a.r.event(a.name, "recovery: the pending password signs in; promoted to current")
		return "pending password signs in; promoted", nil
	case "current":
		a.r.event(a.name, "recovery: the current password signs in; the pending one was not set and will be reused")
		return "current password signs in; pending kept as the next candidate", nil
	}
	if err := a.r.Store.RestorePrevious(ctx, a.name, p.seq, "recovered: a previous password signs in"); err != nil {
		res := Result{Outcome: Failed, Reason: "restore the previous password: " + err.Error()}
		return p.label + " signs in; restore failed", &res
	}
	a.current = p.pw
	a.r.event(a.name, "recovery: the %s password signs in; it is current again", p.label)
	return p.label + " password signs in; restored as current", nil
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

// Rotate changes the account's password: lock, recover an unfinished
// rotation, login, change, verify, promote.
func (r *Rotator) Rotate(ctx context.Context, name string) (Result, error) {
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return Result{}, err
	}
	if res := checkState(acct); res != nil {
		return *res, nil
	}
	if next, why, err := r.NextAllowed(ctx, name); err != nil {
		return Result{}, err
	} else if !next.IsZero() {
		return Result{Outcome: Refused, NextAllowed: next,
			Reason: fmt.Sprintf("%s; the next change is allowed at %s", why, next.UTC().Format(time.RFC3339))}, nil
	}
	a, ctx, stop, err := r.begin(ctx, name, "rotate")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	r.Store.Flag(ctx, name, store.StateRunning, "")
	return a.rotate(ctx), nil
}

func (a *attempt) rotate(ctx context.Context) Result {
	r := a.r
	res := Result{}
	pending, err := r.Store.Pending(ctx, a.name)
	hasPending := err == nil
	if err != nil && !errors.Is(err, store.ErrNoPending) {
		return a.finish(ctx, Result{Outcome: Failed, Reason: err.Error()})
	}
	if hasPending {
		found, stopRes := a.recover(ctx, pending)
		res.Recovered = found
		if stopRes != nil {
			stopRes.Recovered = found
			return a.finish(ctx, *stopRes)
		}
		if strings.HasPrefix(found, "pending") {
			// The unfinished rotation did change the password: that was
			// this rotation's change.
			return a.finish(ctx, Result{Outcome: Succeeded, Recovered: found})
		}
		// Signed in with current or a previous one: go on, reusing the
		// pending candidate.
	} else {
		if err := a.login(ctx, a.current); err != nil {
			return a.finish(ctx, stepFailure(templates.FlowLogin, err))
		}
	}

	// The candidate: the pending one (a retry), or a new one, stored
	// durably before the change form is touched.
	candidate := pending
	if !hasPending {
		if candidate, err = GeneratePassword(a.tpl.Rules, r.Random); err != nil {
			return a.finish(ctx, Result{Outcome: Failed, Reason: "generate a password: " + err.Error(), Recovered: res.Recovered})
		}
		if err := r.Store.SetPending(ctx, a.name, candidate); err != nil {
			return a.finish(ctx, Result{Outcome: Failed, Reason: "store the pending password (nothing changed): " + err.Error()})
		}
		r.event(a.name, "new password stored as pending")
	}

	tries := r.MaxCandidates
	if tries <= 0 {
		tries = 3
	}
	for try := 1; ; try++ {
		err := a.sess.Run(ctx, templates.FlowChange, a.values(a.current, candidate))
		if err == nil {
			break
		}
		var ce *browser.ChallengeError
		if errors.As(err, &ce) {
			out := stepFailure(templates.FlowChange, err)
			out.Reason += "; the pending password is kept and recovery will probe it"
			out.Recovered = res.Recovered
			return a.finish(ctx, out)
		}
		rejected, rerr := a.sess.Rejected(ctx)
		if rerr == nil && rejected && try < tries {
			next, gerr := GeneratePassword(a.tpl.Rules, r.Random)
			if gerr != nil {
				return a.finish(ctx, Result{Outcome: Failed, Reason: "generate a password: " + gerr.Error()})
			}
			if err := r.Store.ReplacePending(ctx, a.name, candidate, next); err != nil {
				return a.finish(ctx, Result{Outcome: Failed, Reason: "store the next candidate: " + err.Error()})
			}
			candidate = next
			r.event(a.name, "the site refused the new password; trying another (%d of %d)", try+1, tries)
			continue
		}
		out := stepFailure(templates.FlowChange, err)
		if rejected {
			out.Reason = fmt.Sprintf("the site refused %d new passwords; last: %s", try, out.Reason)
		}
		// Whether the change was submitted is unknown: find out now.
		found, stopRes := a.recover(ctx, candidate)
		out.Recovered = found
		if stopRes != nil {
			stopRes.Recovered = found
			stopRes.Reason = out.Reason + "; then " + stopRes.Reason
			return a.finish(ctx, *stopRes)
		}
		if strings.HasPrefix(found, "pending") {
			return a.finish(ctx, Result{Outcome: Succeeded, Recovered: found})
		}
		return a.finish(ctx, out)
	}
	r.event(a.name, "change submitted; verifying the new password")

	if err := a.verifyWith(ctx, candidate); err != nil {
		var ce *browser.ChallengeError
		if errors.As(err, &ce) {
			out := stepFailure(templates.FlowVerify, err)
			out.Reason += "; the pending password is kept and recovery will probe it"
			return a.finish(ctx, out)
		}
		r.event(a.name, "the new password did not sign in: %v", err)
		found, stopRes := a.recover(ctx, candidate)
		if stopRes != nil {
			stopRes.Recovered = found
			return a.finish(ctx, *stopRes)
		}
		if strings.HasPrefix(found, "pending") {
			return a.finish(ctx, Result{Outcome: Succeeded, Recovered: found})
		}
		out := stepFailure(templates.FlowVerify, err)
		out.Recovered = found
		return a.finish(ctx, out)
	}
	if err := r.Store.Promote(context.WithoutCancel(ctx), a.name, candidate, "rotation"); err != nil {
		return a.finish(ctx, Result{Outcome: Failed, Reason: "promote (the pending password signs in and is kept; recovery will promote it): " + err.Error()})
	}
	r.event(a.name, "new password verified and promoted to current")
	return a.finish(ctx, Result{Outcome: Succeeded, Recovered: res.Recovered})
}

// Verify is a health check: sign in with the current password, changing
// nothing. An account with a pending password is recovered first.
func (r *Rotator) Verify(ctx context.Context, name string) (Result, error) {
	a, ctx, stop, err := r.begin(ctx, name, "verify")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	pending, perr := r.Store.Pending(ctx, name)
	if perr == nil {
		found, stopRes := a.recover(ctx, pending)
		if stopRes != nil {
			stopRes.Recovered = found
			return a.finish(ctx, *stopRes), nil
		}
		return a.finish(ctx, Result{Outcome: Succeeded, Recovered: found}), nil
	}
	if !errors.Is(perr, store.ErrNoPending) {
		return a.finish(ctx, Result{Outcome: Failed, Reason: perr.Error()}), nil
	}
	a.sess.TryLogout(ctx)
	if err := a.login(ctx, a.current); err != nil {
		return a.finish(ctx, stepFailure(templates.FlowLogin, err)), nil
	}
	return a.finish(ctx, Result{Outcome: Succeeded}), nil
}
