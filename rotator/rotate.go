package rotator

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// candidate returns the pending password to submit again, or a new one
// stored as a candidate before the change form is touched.
func (a *attempt) candidate(ctx context.Context) (secret.String, int64, *Result) {
	cands, err := a.r.Store.Candidates(ctx, a.name)
	if err != nil {
		return secret.String{}, 0, &Result{Outcome: rotation.Failed, Reason: "read the candidate passwords (nothing changed): " + err.Error()}
	}
	for _, c := range cands {
		if c.Live && c.State != store.CandidateRefused {
			if c.Seq == 0 { // stored by an older rotator: number it
				if c.Seq, err = a.r.Store.AddCandidate(ctx, a.name, c.Password); err != nil {
					return secret.String{}, 0, &Result{Outcome: rotation.Failed, Reason: "store the pending password (nothing changed): " + err.Error()}
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
		return pw, 0, &Result{Outcome: rotation.Failed, Reason: "generate a password: " + err.Error()}
	}
	seq, err := a.r.Store.AddCandidate(ctx, a.name, pw)
	if err != nil {
		return pw, 0, &Result{Outcome: rotation.Failed, Reason: "store the new password (nothing submitted): " + err.Error()}
	}
	a.r.event(a.name, "new password stored as candidate #%d", seq)
	return pw, seq, nil
}

// end records res, with what recovery found.
func (a *attempt) end(ctx context.Context, res Result, found rotation.Finding) Result {
	if !res.Recovered.Ran() {
		res.Recovered = found
	}
	return a.finish(ctx, res)
}

// proofCost is how many failed sign-ins proving a candidate may take: it,
// then current.
func (a *attempt) proofCost() int { return min(2, a.budget) }

// rotate is one rotation: recover an unfinished one, sign in, change,
// verify, promote.
func (a *attempt) rotate(ctx context.Context) Result {
	rec := a.recover(ctx, false)
	switch {
	case rec.stop != nil:
		return a.end(ctx, *rec.stop, rec.found)
	case rec.promoted:
		// The unfinished rotation did change the password: that was this
		// rotation's change.
		return a.end(ctx, Result{Outcome: rotation.Succeeded}, rec.found)
	case !rec.found.Ran():
		if ok, stop, err := a.try(ctx, "current", a.current, a.login); stop != nil {
			return a.end(ctx, *stop, rec.found)
		} else if !ok {
			return a.currentFailed(ctx, err)
		}
	}
	// Signed in with the current password.
	if a.budget-a.failed < a.proofCost() && rec.found.Ran() {
		// Recovery spent the budget (a run cut short left a candidate to
		// probe): the account is sound, and the change is the next run's.
		return a.end(ctx, Result{Outcome: rotation.Deferred, Reason: fmt.Sprintf(
			"recovered an unfinished rotation (%d of %d failed sign-ins spent on it); the change is left to the next run, which starts with a full budget; nothing submitted", a.failed, a.budget)}, rec.found)
	}
	if a.budget-a.failed < a.proofCost() {
		return a.end(ctx, Result{Outcome: rotation.Failed, Reason: fmt.Sprintf(
			"%d of %d failed sign-ins spent; too few left to verify a new password; nothing submitted", a.failed, a.budget)}, rec.found)
	}
	cand, stop := a.change(ctx)
	if stop != nil {
		return a.end(ctx, *stop, rec.found)
	}
	a.r.event(a.name, "change submitted; verifying the new password")
	return a.end(ctx, a.verifyNew(ctx, cand), rec.found)
}

// change submits candidates until the change flow ends cleanly with one
// (returned), or the run must end (stop). A candidate the site refused,
// proven by current still signing in, is followed by a new one while the
// tries and the budget last.
func (a *attempt) change(ctx context.Context) (cand secret.String, stop *Result) {
	cand, seq, stop := a.candidate(ctx)
	if stop != nil {
		return cand, stop
	}
	tries := a.r.MaxCandidates
	if tries <= 0 {
		tries = 3
	}
	for try := 1; ; try++ {
		if err := a.r.Store.MarkCandidate(ctx, a.name, seq, store.CandidateSubmitted); err != nil {
			return cand, &Result{Outcome: rotation.Failed, Reason: "mark the new password submitted (nothing submitted): " + err.Error()}
		}
		a.changeSteps, a.mayHaveSubmitted = 0, false
		cerr := a.sess.Run(ctx, templates.FlowChange, a.values(a.current, cand))
		if cerr == nil {
			return cand, nil
		}
		out, refused := a.changeFailed(ctx, cerr, cand, seq)
		if !refused {
			return cand, &out
		}
		if try >= tries || a.budget-a.failed < a.proofCost() {
			out := a.giveUp(ctx, out, try, tries)
			return cand, &out
		}
		if cand, seq, stop = a.newCandidate(ctx); stop != nil {
			return cand, stop
		}
		a.r.event(a.name, "the site refused the new password; trying another (%d of %d)", try+1, tries)
	}
}

// changeFailed decides after a change flow that failed with cerr. The run
// ends with out, unless refused: the site refused the candidate and the
// current password still signs in, so another may be tried.
func (a *attempt) changeFailed(ctx context.Context, cerr error, cand secret.String, seq int64) (out Result, refused bool) {
	out = stepFailure(templates.FlowChange, cerr)
	if out.Outcome == rotation.Paused {
		out.Reason += "; the new password is kept and recovery will probe it"
		return out, false
	}
	if a.changeSteps > 0 && !a.mayHaveSubmitted {
		// The flow failed before any step that could send the form: the
		// new password never reached the site. It stays the next
		// candidate, and recovery need not probe it.
		if err := a.r.Store.MarkCandidate(ctx, a.name, seq, store.CandidatePending); err != nil {
			out.Reason += "; the new password is kept and recovery will probe it"
		} else {
			out.Reason += "; the new password was never sent and is kept for the next rotation"
		}
		if why := a.lost(); why != "" {
			r := a.lostResult(ctx, why+": "+out.Reason)
			out.Outcome, out.Reason = r.Outcome, r.Reason
		}
		return out, false
	}
	if why := a.lost(); why != "" {
		// Nothing can be proven in this browser: the next run's recovery
		// probes the candidate.
		r := a.lostResult(ctx, why+": "+out.Reason+"; the new password is kept and the next run, in a new browser, recovers")
		out.Outcome, out.Reason = r.Outcome, r.Reason
		return out, false
	}
	rejected := false
	if ctx.Err() == nil {
		rejected, _ = a.sess.Rejected(ctx)
	}
	if rejected {
		// The site's word, recorded at once: the password is never
		// submitted again, and recovery probes it after current.
		if err := a.r.Store.MarkCandidate(ctx, a.name, seq, store.CandidateRefused); err != nil {
			return Result{Outcome: rotation.Failed, Reason: out.Reason + "; mark the refused password (it is kept): " + err.Error()}, false
		}
		a.r.event(a.name, "the page shows a rejection of the new password; proving which password works")
	} else {
		a.r.event(a.name, "the change flow failed; proving which password works")
	}
	// Whatever the page says, find out which password works now: the
	// candidate first (the page may lie), then current.
	res, currentSignsIn := a.prove(ctx, cand, out)
	if !currentSignsIn {
		return res, false
	}
	if !rejected {
		// Current signs in: the change did not happen. The candidate stays
		// pending for the next rotation.
		if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
			out.Reason += "; record that the current password signs in: " + err.Error()
		}
		return out, false
	}
	return out, true
}

// giveUp ends a rotation whose candidates the site refused try times (of
// tries allowed) while current kept signing in.
func (a *attempt) giveUp(ctx context.Context, out Result, try, tries int) Result {
	out.Reason = fmt.Sprintf("the site refused %d new passwords; last: %s", try, out.Reason)
	if try < tries {
		out.Reason += fmt.Sprintf("; %d of %d failed sign-ins spent, too few to verify another", a.failed, a.budget)
	}
	if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
		out.Reason += "; clear the refused passwords: " + err.Error()
	}
	return out
}

// verifyNew signs in with the candidate the change flow took, from a
// signed-out browser, and promotes it when it signs in.
func (a *attempt) verifyNew(ctx context.Context, cand secret.String) Result {
	ok, stop, verr := a.try(ctx, "new", cand, a.verifyWith)
	if stop != nil {
		stop.Reason += "; the new password is kept and recovery will probe it"
		return *stop
	}
	if !ok {
		out := stepFailure(templates.FlowVerify, verr)
		var lf *logoutFailed
		if errors.As(verr, &lf) {
			// The sign-in may have failed only because the session was
			// still signed in: the candidate is not proven wrong, and
			// recovery, which signs out its own way, probes it too.
			out.Reason = "the site confirmed the change; signing out to prove the new password failed: " + out.Reason
			return a.recover(ctx, true).after(out)
		}
		out.Reason = "the site confirmed the change but the new password does not sign in (a site may store something other than what was typed): " + out.Reason
		return a.recover(ctx, true, cand).after(out)
	}
	if err := a.r.Store.Promote(context.WithoutCancel(ctx), a.name, cand, "rotation"); err != nil {
		return Result{Outcome: rotation.Failed, Reason: "promote (the new password signs in and is kept; recovery will promote it): " + err.Error()}
	}
	a.r.event(a.name, "new password verified and promoted to current")
	return Result{Outcome: rotation.Succeeded}
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
			out.Outcome = rotation.NeedsOperator
			return out, false
		}
		ok, stop, _ := a.try(ctx, p.label, p.pw, a.login)
		if stop != nil {
			stop.Reason = out.Reason + "; then " + stop.Reason + "; the new password is kept"
			if out.Step != nil {
				stop.Step = out.Step
			}
			return *stop, false
		}
		if !ok {
			continue
		}
		if p.kind == probeCurrent {
			return out, true
		}
		if err := a.r.Store.Promote(context.WithoutCancel(ctx), a.name, cand, "rotation (the page did not confirm, the new password signs in)"); err != nil {
			return Result{Outcome: rotation.Failed, Reason: "promote (the new password signs in and is kept; recovery will promote it): " + err.Error()}, false
		}
		a.current = cand
		a.r.event(a.name, "the new password signs in although the page did not confirm it; promoted to current")
		return Result{Outcome: rotation.Succeeded}, false
	}
	return a.recover(ctx, true, cand, a.current).after(out), false
}
