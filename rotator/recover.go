package rotator

import (
	"context"
	"fmt"
	"strings"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

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
	// found says it for the record.
	found rotation.Finding
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
		return recovery{found: rotation.Finding{Found: rotation.NotRun}, stop: &Result{Outcome: rotation.Failed, Reason: "recovery: " + err.Error()}}
	}
	if !needed && !force {
		return recovery{}
	}
	a.r.event(a.name, "recovery: probing %s", labels(ps))
	a.sess.TryLogout(ctx)
	for i, p := range ps {
		if a.spent() {
			return recovery{found: rotation.Finding{Found: rotation.BudgetSpent}, stop: &Result{Outcome: rotation.NeedsOperator,
				Reason: fmt.Sprintf("recovery stopped after %d failed sign-ins, the run's budget; not tried: %s; every password is kept; an operator must check the account",
					a.failed, labels(ps[i:]))}}
		}
		if rec, done := a.signInWith(ctx, p, "recovery stopped: "); done {
			return rec
		}
	}
	return recovery{found: rotation.Finding{Found: rotation.NoneSignsIn}, stop: &Result{Outcome: rotation.NeedsOperator,
		Reason: fmt.Sprintf("no stored password signs in (tried: %s); every one is kept; an operator must check the account", labels(ps))}}
}

// signInWith signs in with p's password: done when it signed in (and was
// adopted) or a challenge or an interruption stopped the run (its reason
// prefixed by what).
func (a *attempt) signInWith(ctx context.Context, p probe, what string) (recovery, bool) {
	ok, stop, _ := a.try(ctx, p.label, p.pw, a.login)
	if stop != nil {
		stop.Reason = what + stop.Reason + "; every password is kept"
		return recovery{found: rotation.Finding{Found: rotation.Stopped}, stop: stop}, true
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
			return recovery{found: rotation.Finding{Found: rotation.CandidateNotPromoted, Label: p.label},
				stop: &Result{Outcome: rotation.Failed, Reason: "promote the recovered password (it signs in and is kept; recovery will promote it): " + err.Error()}}
		}
		a.current = p.pw
		a.r.event(a.name, "recovery: the %s password signs in; promoted to current", p.label)
		return recovery{found: rotation.Finding{Found: rotation.CandidatePromoted, Label: p.label}, promoted: true}
	case probeCurrent:
		found := rotation.Finding{Found: rotation.CurrentSignsIn}
		if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
			return recovery{found: found, stop: &Result{Outcome: rotation.Failed, Reason: "record what recovery found: " + err.Error()}}
		}
		a.r.event(a.name, "recovery: the current password signs in; no candidate was set, the pending one is kept as the next")
		return recovery{found: found}
	}
	if err := a.r.Store.RestorePrevious(ctx, a.name, p.seq, "recovered: a previous password signs in"); err != nil {
		return recovery{found: rotation.Finding{Found: rotation.PreviousNotRestored, Label: p.label},
			stop: &Result{Outcome: rotation.Failed, Reason: "restore the previous password: " + err.Error()}}
	}
	a.current = p.pw
	found := rotation.Finding{Found: rotation.PreviousRestored, Label: p.label}
	if err := a.r.Store.ResolveCandidates(ctx, a.name); err != nil {
		return recovery{found: found, stop: &Result{Outcome: rotation.Failed, Reason: "record what recovery found: " + err.Error()}}
	}
	a.r.event(a.name, "recovery: the %s password signs in; it is current again", p.label)
	return recovery{found: found}
}

// after ends a run with what a forced recovery found, out saying what went
// wrong first.
func (rec recovery) after(out Result) Result {
	switch {
	case rec.stop != nil:
		res := *rec.stop
		res.Reason = out.Reason + "; then " + res.Reason
		res.Recovered = rec.found
		if out.Step != nil {
			res.Step = out.Step // the first failure is the one to fix
		}
		return res
	case rec.promoted:
		return Result{Outcome: rotation.Succeeded, Recovered: rec.found}
	}
	out.Recovered = rec.found
	return out
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
		return a.end(ctx, Result{Outcome: rotation.Succeeded}, late.found)
	}
	return a.end(ctx, stepFailure(templates.FlowLogin, loginErr), late.found)
}

func (a *attempt) tryLiveCandidate(ctx context.Context) recovery {
	cands, err := a.r.Store.Candidates(ctx, a.name)
	if err != nil {
		a.r.log().Error("read the pending password", "account", a.name, "err", err)
		return recovery{found: rotation.Finding{Found: rotation.NotRun}}
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
		return recovery{found: rotation.Finding{Found: rotation.PendingFails}}
	}
	return recovery{}
}
