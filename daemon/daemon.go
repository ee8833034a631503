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

	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/notify"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/store"
)

// Queue is what the daemon needs from the job queue.
type Queue interface {
	// Enqueue adds the account's rotation, due at due, unless one waits
	// or runs.
	Enqueue(ctx context.Context, account string, due time.Time) (bool, error)
	// Notify queues a webhook delivery.
	Notify(ctx context.Context, body []byte) error
}

// Daemon wires the parts together. It is the rotator's Events: it hears
// of pauses as they begin and of every run's end.
type Daemon struct {
	Store     *store.Store
	Rotator   *rotator.Rotator
	Scheduler *schedule.Scheduler
	Queue     Queue
	Metrics   *Metrics
	Logger    *slog.Logger
	// Notify, when it has a URL, receives paused, failed and
	// needs_operator events, as durable jobs on Queue.
	Notify *notify.Webhook
	// PerSite is how many rotations may run against one site at once
	// (default 1).
	PerSite int
	// MaxConcurrent is how many browsers rotate at once (default 2). A
	// rotation paused for an operator gives its share back while it
	// waits, so the queue needs more workers than this (see
	// rotator.Holds.Max).
	MaxConcurrent int
	// SlotStale is how old a rotation's slot on its site in the vault
	// may be before it counts as left behind (the job timeout; default
	// an hour).
	SlotStale time.Duration
	// Tick is how often the scheduler looks for due accounts (default 1 s).
	Tick time.Duration
	Now  func() time.Time

	sitesMu sync.Mutex // guards sites and slots
	sites   map[string]chan struct{}
	slots   chan struct{}
}

var _ rotator.Events = (*Daemon)(nil)

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
		if errors.Is(err, store.ErrLocked) {
			// Another worker's run holds it (with several workers,
			// "running" is often a live run): that run finishes it, or,
			// if its worker is dead, the account's released job
			// recovers it once the lease is taken over.
			d.log().Info("not recovering: a run of another worker holds the account", "account", a.Name)
			continue
		}
		if err != nil {
			d.log().Error("recovery", "account", a.Name, "err", err)
			continue
		}
		d.log().Info("recovery done", "account", a.Name, "outcome", string(res.Outcome), "found", res.Recovered.String())
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
	lastSync, lastRelease := d.now(), d.now()
	for {
		if d.now().Sub(lastRelease) >= 5*tick {
			d.releaseOrphaned(ctx)
			lastRelease = d.now()
		}
		if d.now().Sub(lastSync) >= 10*tick {
			if err := d.Scheduler.Sync(ctx); err != nil && ctx.Err() == nil {
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

// orphanReleaser is a queue that can release the jobs of dead workers.
type orphanReleaser interface {
	ReleaseOrphaned(ctx context.Context, dead func(worker string) bool) (int, error)
}

// releaseOrphaned queues again the jobs left running by a worker that died:
// with several workers on one database, another's death is found here,
// within five ticks, rather than when the dead one restarts.
func (d *Daemon) releaseOrphaned(ctx context.Context) {
	q, ok := d.Queue.(orphanReleaser)
	if !ok {
		return
	}
	n, err := q.ReleaseOrphaned(ctx, d.Store.HolderDead)
	if err != nil && ctx.Err() == nil {
		d.log().Error("release the jobs of dead workers", "err", err)
	}
	if n > 0 {
		d.log().Info("jobs left running by a worker that died are queued again", "jobs", n)
	}
}

func (d *Daemon) pass(ctx context.Context) error {
	due, err := d.Scheduler.Due(ctx)
	for _, n := range due {
		added, qerr := d.Queue.Enqueue(ctx, n.Name, n.Due)
		if qerr != nil {
			err = errors.Join(err, qerr)
			continue
		}
		if added {
			d.log().Info("queued", "account", n.Name, "due", n.Due)
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

// Work is the queue's job: rotate one account, then schedule its next run
// and tell the webhook of a failure. (A pause was told as it began, and
// the metrics heard the end: see Paused and Finished.)
func (d *Daemon) Work(ctx context.Context, j jobs.Job) error {
	acct, err := d.Store.Account(ctx, j.Account)
	if err != nil {
		return err
	}
	base := ""
	if tpl, err := d.Rotator.Templates(acct.Template); err == nil {
		base = tpl.BaseURL
	}
	slot := &capacity{d: d, site: siteOf(acct, base), account: acct.Name}
	if err := slot.Acquire(ctx); err != nil {
		return err
	}
	defer slot.Release()
	if d.Metrics != nil && !j.Due.IsZero() {
		d.Metrics.StartDelay.Observe(d.now().Sub(j.Due).Seconds())
	}
	log := d.log().With("account", acct.Name, "template", acct.Template, "job", j.ID)
	log.Info("rotation starts")
	res, err := d.Rotator.RotateAccount(ctx, acct, slot)
	outcome := rotator.OutcomeOf(res, err)
	switch {
	case outcome == rotation.Busy:
		log.Info("rotation deferred: the account is busy", "err", err)
	case err != nil:
		log.Error("rotation", "err", err)
	default:
		log.Info("rotation done", "outcome", string(outcome), "run", res.RunID, "reason", res.Reason)
	}
	e, derr := d.Scheduler.Done(context.WithoutCancel(ctx), acct.Name, outcome)
	d.refreshGauges(ctx)
	ev := notify.Event{Account: acct.Name, Template: acct.Template, Outcome: outcome, Reason: res.Reason, RunID: res.RunID, At: d.now().UTC()}
	switch {
	case outcome == rotation.NeedsOperator, outcome == rotation.Failed && e.State == store.StateNeedsOperator:
		ev.Event = "account.needs_operator"
		if e.Hold != "" {
			ev.Reason = e.Hold + "; last: " + res.Reason
		}
		d.notify(ctx, ev)
	case outcome == rotation.Failed:
		ev.Event = "rotation.failed"
		d.notify(ctx, ev)
	}
	if derr != nil {
		return fmt.Errorf("schedule the next run of %s: %w", acct.Name, derr)
	}
	return nil
}

// Paused is told by the rotator when a pause begins: the webhook and the
// gauges learn of it while the browser waits for an operator.
func (d *Daemon) Paused(p rotator.Pause) {
	ev := notify.Event{Event: "rotation.paused", Account: p.Account, Template: p.Template, Outcome: rotation.Paused,
		Reason: p.Reason, RunID: p.RunID, At: d.now().UTC()}
	if c := p.Challenge; c != nil {
		ev.Challenge = &notify.Challenge{Kind: string(c.Kind), URL: c.URL}
	}
	d.notify(context.Background(), ev)
	d.refreshGauges(context.Background())
}

// Finished is told by the rotator when a run returns: the metrics count
// rotations (by outcome and template, with their wall time) and the
// recoveries at start.
func (d *Daemon) Finished(f rotator.Finished) {
	if d.Metrics == nil {
		return
	}
	switch f.Kind {
	case rotation.Rotate:
		d.Metrics.Rotations.WithLabelValues(string(f.Result.Outcome), f.Template).Inc()
		d.Metrics.Duration.WithLabelValues(f.Template).Observe(f.Took.Seconds())
	case rotation.Verify:
		d.Metrics.Recoveries.WithLabelValues(string(f.Result.Outcome)).Inc()
	}
}

// notify queues the webhook's delivery of ev, when a webhook is set.
func (d *Daemon) notify(ctx context.Context, ev notify.Event) {
	if !d.Notify.Enabled() || d.Queue == nil {
		return
	}
	body, err := notify.Body(ev)
	if err == nil {
		err = d.Queue.Notify(context.WithoutCancel(ctx), body)
	}
	if err != nil {
		d.log().Error("webhook", "event", ev.Event, "account", ev.Account, "err", err)
	}
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
