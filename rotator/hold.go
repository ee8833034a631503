package rotator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-rod/rod"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Holds keeps the browsers of paused rotations alive for an operator, and
// the sessions operators open by hand. An operator sees a held page live
// in the console, works on it, and says to continue (the rotation resumes
// with the step after the challenge) or to abort.
type Holds struct {
	// Keep is how long a paused browser waits for an operator (default
	// 30 minutes); then it closes and the account stays flagged.
	Keep time.Duration
	// Max is how many browsers are held at once (default 4): a pause
	// beyond it closes its browser at once, as without a console.
	Max int
	Now func() time.Time

	mu   sync.Mutex
	held map[string]*Held
}

// HeldKind says why a browser is held.
type HeldKind string

// The kinds.
const (
	// HeldChallenge is a rotation paused on a challenge.
	HeldChallenge HeldKind = "challenge"
	// HeldSession is a browser an operator opened on the account's
	// profile to sign in or trust the browser by hand.
	HeldSession HeldKind = "session"
)

// Held is one held browser page.
type Held struct {
	Account  string
	Template string
	Kind     HeldKind
	RunID    int64
	// Challenge is what the page shows (nil for a session).
	Challenge *browser.ChallengeError
	Since     time.Time
	Until     time.Time

	page *rod.Page
	tpl  *templates.Template
	// shown is set once the pause is recorded: operators see a held page
	// only with its account flagged.
	shown  bool
	decide chan decision
	done   chan struct{}
	driver chan struct{} // one live view drives the page at a time
}

type decision struct {
	abort bool
	actor string
	reply chan error
}

// ErrNotHeld is an account with no held browser.
var ErrNotHeld = errors.New("no browser is held for this account (it closed, or the job ended)")

// Shows describes the challenge the page shows, for operators ("" for a
// session).
func (h *Held) Shows() string {
	c := h.Challenge
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s challenge (%s) at %s, after %s step %s", c.Kind, c.Name, c.URL, c.Flow, c.Step)
}

// Page is the held page (for the live view only).
func (h *Held) Page() *rod.Page { return h.page }

// Done is closed when the hold ends.
func (h *Held) Done() <-chan struct{} { return h.done }

// Drive claims the page for one live view; the returned function releases
// it. A second viewer waits until the first leaves or ctx ends.
func (h *Held) Drive(ctx context.Context) (func(), error) {
	select {
	case h.driver <- struct{}{}:
		return func() { <-h.driver }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-h.done:
		return nil, ErrNotHeld
	}
}

// Continue says the operator resolved the challenge (or is done with the
// session). It fails, and the page stays held, when the page still shows
// the challenge.
func (h *Held) Continue(ctx context.Context, actor string) error {
	return h.send(ctx, decision{actor: actor})
}

// Abort ends the hold: a paused rotation ends and the account stays
// flagged until an operator clears it.
func (h *Held) Abort(ctx context.Context, actor string) error {
	return h.send(ctx, decision{abort: true, actor: actor})
}

func (h *Held) send(ctx context.Context, d decision) error {
	d.reply = make(chan error, 1)
	select {
	case h.decide <- d:
	case <-h.done:
		return ErrNotHeld
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-d.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (hs *Holds) now() time.Time {
	if hs.Now != nil {
		return hs.Now()
	}
	return time.Now()
}

func (hs *Holds) keep() time.Duration {
	if hs.Keep > 0 {
		return hs.Keep
	}
	return 30 * time.Minute
}

// add registers a hold; false when the account already has one or the
// limit is reached.
func (hs *Holds) add(h *Held) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	max := hs.Max
	if max <= 0 {
		max = 4
	}
	if hs.held == nil {
		hs.held = map[string]*Held{}
	}
	if _, ok := hs.held[h.Account]; ok || len(hs.held) >= max {
		return false
	}
	h.Since = hs.now()
	h.Until = h.Since.Add(hs.keep())
	h.decide = make(chan decision)
	h.done = make(chan struct{})
	h.driver = make(chan struct{}, 1)
	hs.held[h.Account] = h
	return true
}

func (hs *Holds) remove(h *Held) {
	hs.mu.Lock()
	if hs.held[h.Account] == h {
		delete(hs.held, h.Account)
	}
	hs.mu.Unlock()
	close(h.done)
}

// Get returns the account's held page.
func (hs *Holds) Get(account string) (*Held, bool) {
	if hs == nil {
		return nil, false
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h, ok := hs.held[account]
	if !ok || !h.shown {
		return nil, false
	}
	return h, true
}

// show makes a registered hold visible to operators.
func (hs *Holds) show(h *Held) {
	hs.mu.Lock()
	h.shown = true
	hs.mu.Unlock()
}

// Wait waits until the account has a held page (or ctx ends).
func (hs *Holds) Wait(ctx context.Context, account string) (*Held, error) {
	for {
		if h, ok := hs.Get(account); ok {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no browser held for %s: %w", account, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// List returns the held pages, oldest first.
func (hs *Holds) List() []*Held {
	if hs == nil {
		return nil
	}
	hs.mu.Lock()
	out := make([]*Held, 0, len(hs.held))
	for _, h := range hs.held {
		if h.shown {
			out = append(out, h)
		}
	}
	hs.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// Slot is a share of the daemon's capacity (a browser slot, a per-site
// slot) that a rotation gives back while it waits for an operator, so a
// paused account does not hold other accounts up.
type Slot interface {
	Release()
	Acquire(ctx context.Context) error
}

// BrowserSlot is a Slot whose browser share can be given back alone,
// while a run waits for a TOTP window: the run keeps its place on the
// site, where it is signing in.
type BrowserSlot interface {
	ReleaseBrowser()
	AcquireBrowser(ctx context.Context) error
}

// pageOf is implemented by sessions with a browser page.
type pageOf interface{ Page() *rod.Page }

// hold keeps the paused page for an operator. It returns nil when an
// operator resolved the challenge (the flow goes on), else the challenge.
func (a *attempt) hold(ctx context.Context, c *browser.ChallengeError) error {
	hs := a.r.Holds
	ps, ok := a.sess.(pageOf)
	if hs == nil || !ok {
		return c
	}
	h := &Held{Account: a.name, Template: a.acct.Template, Kind: HeldChallenge, RunID: a.run.ID, Challenge: c,
		page: ps.Page(), tpl: a.tpl}
	if !hs.add(h) {
		a.holdNote = "the browser was not kept: the console holds as many paused browsers as it may"
		return c
	}
	defer hs.remove(h)
	a.held = true

	// The pause is recorded now, while the page waits: the flags queue,
	// the run and the webhook show it at once.
	res := stepFailure(c.Flow, c)
	reason := res.Reason + "; the browser waits in the console until " + h.Until.UTC().Format(time.RFC3339)
	a.recordChallenge(c)
	a.run.Outcome, a.run.Reason = rotation.Paused, reason
	bg := context.WithoutCancel(ctx)
	if err := a.r.Store.FinishRun(bg, a.run); err != nil {
		a.r.log().Error("record run", "account", a.name, "err", err)
	}
	a.r.Store.Flag(bg, a.name, store.StatePaused, reason)
	a.audit(bg, a.r.Actor, "challenge.held", "paused", fmt.Sprintf("run %d; %s", a.run.ID, res.Reason))
	a.r.event(a.name, "paused on a %s challenge; the browser is kept for an operator until %s", c.Kind, h.Until.Format(time.Kitchen))
	a.r.book(bg, h)
	defer a.r.unbook(h)
	hs.show(h)
	a.r.paused(a, c, reason)
	slot := a.slot
	if slot != nil {
		slot.Release()
	}
	reacquire := func() error {
		if slot == nil {
			return nil
		}
		return slot.Acquire(ctx)
	}
	return a.await(ctx, h, c, reacquire)
}

// await waits for the operator's decision on the held page h, the hold's
// expiry or the job's end; nil means the operator resolved c and the flow
// goes on.
func (a *attempt) await(ctx context.Context, h *Held, c *browser.ChallengeError, reacquire func() error) error {
	bg := context.WithoutCancel(ctx)
	timer := time.NewTimer(time.Until(h.Until))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			a.holdNote = "the job ended while the browser waited for an operator: " + context.Cause(ctx).Error()
			reacquire()
			return c
		case <-timer.C:
			a.holdNote = fmt.Sprintf("no operator resolved it within %v; the browser was closed (use \"Open a session\" in the console)", a.r.Holds.keep())
			a.audit(bg, a.r.Actor, "challenge.expired", "paused", fmt.Sprintf("run %d", a.run.ID))
			reacquire()
			return c
		case d := <-h.decide:
			if d.abort {
				a.holdNote = "aborted by " + d.actor + " in the console; the account stays flagged until an operator clears it"
				a.audit(bg, d.actor, "challenge.abort", "paused", fmt.Sprintf("run %d", a.run.ID))
				d.reply <- nil
				reacquire()
				return c
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			still, err := browser.DetectChallenge(cctx, h.page, a.tpl)
			cancel()
			if err != nil || still != nil {
				why := "the page could not be checked"
				if still != nil {
					why = fmt.Sprintf("the page still shows the %s challenge (%s)", still.Kind, still.Name)
				}
				a.audit(bg, d.actor, "challenge.resolve", "refused", fmt.Sprintf("run %d; %s", a.run.ID, why))
				d.reply <- fmt.Errorf("%w: %s", ErrStillChallenged, why)
				continue
			}
			a.audit(bg, d.actor, "challenge.resolve", "resumed", fmt.Sprintf("run %d; resuming after %s step %s", a.run.ID, c.Flow, c.Step))
			d.reply <- nil
			if err := reacquire(); err != nil {
				a.holdNote = "the job ended before it could resume"
				return c
			}
			a.r.Store.Flag(bg, a.name, store.StateRunning, "")
			a.r.event(a.name, "an operator resolved the %s challenge; resuming after %s step %s", c.Kind, c.Flow, c.Step)
			return nil
		}
	}
}

// book records in the vault that this worker holds h, so that every
// worker's console finds it.
func (r *Rotator) book(ctx context.Context, h *Held) {
	p := store.HeldPage{Account: h.Account, Kind: string(h.Kind), RunID: h.RunID, Since: h.Since, Until: h.Until, Challenge: h.Shows()}
	if err := r.Store.RecordHeld(ctx, p); err != nil {
		r.log().Error("record the held page", "account", h.Account, "err", err)
	}
}

// unbook forgets h in the vault once its hold ended.
func (r *Rotator) unbook(h *Held) {
	if err := r.Store.ForgetHeld(context.Background(), h.Account, h.RunID); err != nil {
		r.log().Error("forget the held page", "account", h.Account, "err", err)
	}
}

// ErrStillChallenged refuses a "resolved" while the page still shows the
// challenge.
var ErrStillChallenged = errors.New("not resolved")

func (a *attempt) recordChallenge(c *browser.ChallengeError) {
	a.run.ChallengeKind, a.run.ChallengeURL, a.run.Screenshot = string(c.Kind), c.URL, c.Screenshot
	a.run.Flow, a.run.Step = c.Flow, c.Step
}

func (a *attempt) audit(ctx context.Context, actor, action, outcome, detail string) {
	if err := a.r.Store.Audit(ctx, store.AuditEvent{Actor: actor, Account: a.name, Action: action, Outcome: outcome, Detail: detail}); err != nil {
		a.r.log().Error("audit", "account", a.name, "err", err)
	}
}

// OpenSession starts a fresh browser on the account's own profile at its
// site and holds it for an operator, who signs in or trusts the browser by
// hand so the next run goes through unattended. The account is locked
// while the session is open. ctx bounds the session (with Holds.Keep).
func (r *Rotator) OpenSession(ctx context.Context, name, actor string) (*Held, error) {
	if r.Holds == nil {
		return nil, errors.New("this process keeps no browsers for operators")
	}
	if h, ok := r.Holds.Get(name); ok {
		if h.Kind == HeldSession {
			return h, nil
		}
		return nil, fmt.Errorf("a paused rotation of %s is held: resolve or abort it first", name)
	}
	acct, err := r.Store.Account(ctx, name)
	if err != nil {
		return nil, err
	}
	a, ctx, stop, err := r.begin(ctx, acct, rotation.Session, nil, nil)
	if err != nil {
		return nil, err
	}
	ps, ok := a.sess.(pageOf)
	if !ok {
		stop()
		return nil, errors.New("the session has no page")
	}
	base := a.acct.SiteURL
	if base == "" {
		base = a.tpl.BaseURL
	}
	nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = ps.Page().Context(nctx).Navigate(base)
	if err == nil {
		err = ps.Page().Context(nctx).WaitLoad()
	}
	cancel()
	if err != nil {
		a.finish(ctx, Result{Outcome: rotation.Failed, Reason: "open " + base + ": " + err.Error()})
		stop()
		return nil, fmt.Errorf("open %s: %w", base, err)
	}
	h := &Held{Account: name, Template: a.acct.Template, Kind: HeldSession, RunID: a.run.ID, page: ps.Page(), tpl: a.tpl}
	if !r.Holds.add(h) {
		a.finish(ctx, Result{Outcome: rotation.Failed, Reason: "the console holds as many browsers as it may"})
		stop()
		return nil, errors.New("the console holds as many browsers as it may; close one first")
	}
	a.audit(context.WithoutCancel(ctx), actor, "session.open", "opened", fmt.Sprintf("run %d; %s", a.run.ID, base))
	r.book(context.WithoutCancel(ctx), h)
	r.Holds.show(h)
	go func() {
		// The hold ends after the browser closed (its profile written)
		// and the account is unlocked: a rotation started the moment an
		// operator sees the session end must not find it busy.
		defer r.Holds.remove(h)
		defer r.unbook(h)
		defer stop()
		timer := time.NewTimer(time.Until(h.Until))
		defer timer.Stop()
		bg := context.WithoutCancel(ctx)
		var res Result
		select {
		case <-ctx.Done():
			res = Result{Outcome: rotation.Failed, Reason: "the session ended with the process"}
		case <-timer.C:
			res = Result{Outcome: rotation.Failed, Reason: "the session was closed after " + r.Holds.keep().String()}
		case d := <-h.decide:
			a.audit(bg, d.actor, "session.close", "closed", fmt.Sprintf("run %d", a.run.ID))
			res = Result{Outcome: rotation.Succeeded, Reason: "closed by " + d.actor}
			d.reply <- nil
		}
		a.finish(bg, res)
	}()
	return h, nil
}
