// Package daemon is `rotator serve`: the scheduler loop, the job workers,
// the HTTP endpoints (/healthz, /metrics) and the metrics themselves, in one
// process.
//
// # Guarantees
//
//   - Before scheduling anything, every account left with a pending password
//     or a run that never finished (a killed daemon) is recovered, except
//     an account waiting for an operator (needs_operator or paused):
//     nothing automatic touches it until an operator clears it.
//   - Due accounts go to the job queue (one job per account); at most
//     MaxConcurrent rotations run at once, and at most PerSite against one
//     site.
//   - The cap and the minimum gap are checked by the scheduler before a job
//     is queued and again by the rotator when it runs.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/notify"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/store"
)

// Queue is what the daemon needs from the job queue.
type Queue interface {
	Enqueue(ctx context.Context, account string) (bool, error)
}

// Daemon wires the parts together.
type Daemon struct {
	Store     *store.Store
	Rotator   *rotator.Rotator
	Scheduler *schedule.Scheduler
	Queue     Queue
	Metrics   *Metrics
	Logger    *slog.Logger
	// Notify receives paused, failed and needs_operator events (nil: none).
	Notify *notify.Webhook
	// PerSite is how many rotations may run against one site at once
	// (default 1).
	PerSite int
	// MaxConcurrent is how many browsers rotate at once (default 2). A
	// rotation paused for an operator gives its share back while it
	// waits, so the queue needs more workers than this (see
	// rotator.Holds.Max).
	MaxConcurrent int
	// Tick is how often the scheduler looks for due accounts (default 1 s).
	Tick time.Duration
	Now  func() time.Time

	mu      sync.Mutex // guards the scheduler
	sites   map[string]chan struct{}
	slots   chan struct{}
	sitesMu sync.Mutex
	due     map[string]time.Time // when each queued job was due
}

func (d *Daemon) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Daemon) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Recover runs recovery (a verify, which probes a pending password first) on
// every account a previous process left unfinished, but not on one waiting
// for an operator (needs_operator, paused).
func (d *Daemon) Recover(ctx context.Context) error {
	accounts, err := d.Store.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		unfinished := a.HasPending || a.State == store.StateRunning
		if !unfinished {
			continue
		}
		if a.State == store.StateNeedsOperator || a.State == store.StatePaused {
			// Nothing automatic touches an account waiting for an
			// operator: probing it again may lock it out through
			// repeated failed sign-ins. Clearing it hands it back.
			d.log().Info("not recovering: the account waits for an operator", "account", a.Name, "state", string(a.State))
			continue
		}
		d.log().Info("recovering an unfinished rotation", "account", a.Name, "template", a.Template)
		// Recovery runs before the scheduler starts: a challenge met here
		// flags the account at once instead of holding the start up.
		rot := *d.Rotator
		rot.Holds = nil
		res, err := rot.Verify(ctx, a.Name)
		if err != nil {
			d.log().Error("recovery", "account", a.Name, "err", err)
			continue
		}
		d.log().Info("recovery done", "account", a.Name, "outcome", string(res.Outcome), "found", res.Recovered)
		if d.Metrics != nil {
			d.Metrics.Recoveries.WithLabelValues(string(res.Outcome)).Inc()
		}
	}
	return nil
}

// Run schedules until ctx ends: due accounts are queued; the queue's
// workers call Work.
func (d *Daemon) Run(ctx context.Context) error {
	tick := d.Tick
	if tick <= 0 {
		tick = time.Second
	}
	d.refreshGauges(ctx)
	lastSync := d.now()
	for {
		if d.now().Sub(lastSync) >= 10*tick {
			d.mu.Lock()
			err := d.Scheduler.Sync(ctx)
			d.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				d.log().Error("scheduler sync", "err", err)
			}
			lastSync = d.now()
		}
		if err := d.pass(ctx); err != nil && ctx.Err() == nil {
			d.log().Error("scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tick):
		}
	}
}

func (d *Daemon) pass(ctx context.Context) error {
	d.mu.Lock()
	names, err := d.Scheduler.Due(ctx)
	dues := map[string]time.Time{}
	for _, n := range names {
		if e, ok := d.Scheduler.Entry(n); ok {
			dues[n] = e.NextDue
		}
	}
	d.mu.Unlock()
	for _, n := range names {
		added, qerr := d.Queue.Enqueue(ctx, n)
		if qerr != nil {
			err = errors.Join(err, qerr)
			continue
		}
		if added {
			d.sitesMu.Lock()
			if d.due == nil {
				d.due = map[string]time.Time{}
			}
			d.due[n] = dues[n]
			d.sitesMu.Unlock()
			d.log().Info("queued", "account", n, "due", dues[n])
		}
	}
	return err
}

// siteOf names the site an account rotates on, for the per-site limit.
func siteOf(a store.Account, base string) string {
	raw := a.SiteURL
	if raw == "" {
		raw = base
	}
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return a.Template
}

// Work is the queue's job: rotate one account, then schedule its next run.
func (d *Daemon) Work(ctx context.Context, name string, job int64) error {
	acct, err := d.Store.Account(ctx, name)
	if err != nil {
		return err
	}
	base := ""
	if tpl, err := d.Rotator.Templates(acct.Template); err == nil {
		base = tpl.BaseURL
	}
	slot := &capacity{d: d, site: siteOf(acct, base)}
	if err := slot.Acquire(ctx); err != nil {
		return err
	}
	defer slot.Release()
	ctx = rotator.WithSlot(ctx, slot)

	d.sitesMu.Lock()
	due := d.due[name]
	delete(d.due, name)
	d.sitesMu.Unlock()
	start := d.now()
	if d.Metrics != nil && !due.IsZero() {
		d.Metrics.StartDelay.Observe(start.Sub(due).Seconds())
	}
	log := d.log().With("account", name, "template", acct.Template, "job", job)
	log.Info("rotation starts")
	res, err := d.Rotator.Rotate(ctx, name)
	outcome := string(res.Outcome)
	switch {
	case errors.Is(err, store.ErrLocked):
		outcome = schedule.OutcomeBusy
		log.Info("rotation deferred: the account is busy", "err", err)
	case err != nil:
		outcome = schedule.OutcomeFailed
		log.Error("rotation", "err", err)
	default:
		log.Info("rotation done", "outcome", outcome, "run", res.RunID, "reason", res.Reason)
	}
	if d.Metrics != nil {
		d.Metrics.Rotations.WithLabelValues(outcome, acct.Template).Inc()
		d.Metrics.Duration.WithLabelValues(acct.Template).Observe(d.now().Sub(start).Seconds())
	}
	d.mu.Lock()
	derr := d.Scheduler.Done(context.WithoutCancel(ctx), name, outcome)
	e, _ := d.Scheduler.Entry(name)
	d.mu.Unlock()
	d.refreshGauges(ctx)
	ev := notify.Event{Account: name, Template: acct.Template, Outcome: outcome, Reason: res.Reason, RunID: res.RunID, At: d.now().UTC()}
	switch {
	case outcome == schedule.OutcomePaused && res.Held:
		// Sent when the pause began (Paused), while the browser waited.
	case outcome == schedule.OutcomePaused:
		ev.Event = "rotation.paused"
		if c := res.Challenge; c != nil {
			ev.Challenge = &notify.Challenge{Kind: string(c.Kind), URL: c.URL}
		}
	case outcome == schedule.OutcomeNeedsOperator,
		outcome == schedule.OutcomeFailed && e.State == store.StateNeedsOperator:
		ev.Event = "account.needs_operator"
		if e.Hold != "" {
			ev.Reason = e.Hold + "; last: " + res.Reason
		}
	case outcome == schedule.OutcomeFailed:
		ev.Event = "rotation.failed"
	}
	if ev.Event != "" {
		d.Notify.Send(ev)
	}
	if derr != nil {
		return fmt.Errorf("schedule the next run of %s: %w", name, derr)
	}
	return nil
}

// capacity is a rotation's share of the daemon: a browser slot and a slot
// on its site. A rotation paused for an operator gives both back while it
// waits.
type capacity struct {
	d        *Daemon
	site     string
	mu       sync.Mutex
	released []chan struct{}
}

func (c *capacity) sems() (chan struct{}, chan struct{}) {
	d := c.d
	d.sitesMu.Lock()
	defer d.sitesMu.Unlock()
	if d.slots == nil {
		n := d.MaxConcurrent
		if n <= 0 {
			n = 2
		}
		d.slots = make(chan struct{}, n)
	}
	if d.sites == nil {
		d.sites = map[string]chan struct{}{}
	}
	sem, ok := d.sites[c.site]
	if !ok {
		per := d.PerSite
		if per <= 0 {
			per = 1
		}
		sem = make(chan struct{}, per)
		d.sites[c.site] = sem
	}
	return d.slots, sem
}

// Acquire takes a slot on the site, then a browser slot.
func (c *capacity) Acquire(ctx context.Context) error {
	global, site := c.sems()
	select {
	case site <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case global <- struct{}{}:
	case <-ctx.Done():
		<-site
		return ctx.Err()
	}
	c.mu.Lock()
	c.released = []chan struct{}{global, site}
	c.mu.Unlock()
	return nil
}

// Release gives both back (once per Acquire).
func (c *capacity) Release() {
	c.mu.Lock()
	held := c.released
	c.released = nil
	c.mu.Unlock()
	for _, sem := range held {
		<-sem
	}
}

// Paused is the rotator's OnPause: the webhook and the gauges learn of a
// pause while the browser waits for an operator.
func (d *Daemon) Paused(account string, runID int64, c *browser.ChallengeError, reason string) {
	ev := notify.Event{Event: "rotation.paused", Account: account, Outcome: schedule.OutcomePaused, Reason: reason, RunID: runID, At: d.now().UTC()}
	if a, err := d.Store.Account(context.Background(), account); err == nil {
		ev.Template = a.Template
	}
	if c != nil {
		ev.Challenge = &notify.Challenge{Kind: string(c.Kind), URL: c.URL}
	}
	d.Notify.Send(ev)
	d.refreshGauges(context.Background())
}

func (d *Daemon) refreshGauges(ctx context.Context) {
	if d.Metrics == nil {
		return
	}
	flags, err := d.Store.Flags(context.WithoutCancel(ctx))
	if err != nil {
		return
	}
	counts := map[store.State]int{store.StatePaused: 0, store.StateNeedsOperator: 0}
	for _, f := range flags {
		counts[f.State]++
	}
	d.Metrics.Accounts.WithLabelValues(string(store.StatePaused)).Set(float64(counts[store.StatePaused]))
	d.Metrics.Accounts.WithLabelValues(string(store.StateNeedsOperator)).Set(float64(counts[store.StateNeedsOperator]))
}
