package schedule

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
)

// Store is what the scheduler needs from the vault.
type Store interface {
	ScheduleEntries(ctx context.Context) ([]store.ScheduleEntry, error)
	SetNextDue(ctx context.Context, name string, due time.Time, failures int, hold string) error
	SetNextDues(ctx context.Context, dues []store.DueTime) error
	Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error)
	GetLimit(ctx context.Context, name string) (store.Limit, error)
	Flag(ctx context.Context, name string, state store.State, reason string) error
}

var _ Store = (*store.Store)(nil)

// BusyRetry is how soon a busy account (rotation.Busy: another run, or an
// operator's browser session, holds it), or one whose run was deferred
// (rotation.Deferred), is tried again; it is not counted as a failure. With several workers an account is busy most often just
// after a worker died, until its lease holder is seen dead (store's
// holderStale, 10 s): a retry soon after that takes the account over.
const BusyRetry = 15 * time.Second

// Scheduler keeps every account's next due time, in memory as a heap and in
// the vault, and decides what runs now. Its methods may be called from
// several goroutines (the scheduling loop, the workers).
type Scheduler struct {
	Store       Store
	Policy      Policy
	DefaultSpec string
	Jitter      time.Duration
	Backoff     Backoff
	// MaxFailures in a row send an account to needs_operator (default 3).
	MaxFailures int
	Now         func() time.Time

	mu      sync.Mutex // guards entries and queue
	entries map[string]*entry
	queue   queue
}

type entry struct {
	store.ScheduleEntry
	sched cron.Schedule
	index int
}

// Load reads every account. An account never scheduled gets its first due
// time from now; one whose due time passed while nothing ran (the daemon
// was down) is due now, once.
func (s *Scheduler) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := s.Store.ScheduleEntries(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	s.entries = map[string]*entry{}
	s.queue = nil
	var first []store.DueTime
	for _, e := range list {
		isNew := e.NextDue.IsZero()
		if err := s.place(e, now); err != nil {
			return err
		}
		if isNew {
			first = append(first, store.DueTime{Name: e.Name, Due: s.entries[e.Name].NextDue})
		}
	}
	heap.Init(&s.queue)
	return s.Store.SetNextDues(ctx, first)
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// add places a new account and stores its first due time.
func (s *Scheduler) add(ctx context.Context, e store.ScheduleEntry, now time.Time) error {
	isNew := e.NextDue.IsZero()
	if err := s.place(e, now); err != nil {
		return err
	}
	if isNew {
		return s.Store.SetNextDue(ctx, e.Name, s.entries[e.Name].NextDue, e.Failures, "")
	}
	return nil
}

// place puts an account in memory, computing a first due time if it has
// none.
func (s *Scheduler) place(e store.ScheduleEntry, now time.Time) error {
	_, sched, err := specOf(e, s.DefaultSpec)
	if err != nil {
		return err
	}
	en := &entry{ScheduleEntry: e, sched: sched}
	if en.NextDue.IsZero() {
		en.NextDue = Next(sched, e.Name, now, s.Jitter)
	}
	s.entries[e.Name] = en
	en.index = len(s.queue)
	s.queue = append(s.queue, en)
	return nil
}

// Sync picks up what other processes changed in the vault (`rotator account
// add`, `rm`, `clear`, `limit` while the daemon runs, and the other
// workers' runs): new accounts are scheduled, removed ones dropped, cleared
// or reset ones looked at again, and due times follow the vault's.
func (s *Scheduler) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := s.Store.ScheduleEntries(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	seen := map[string]bool{}
	for _, e := range list {
		seen[e.Name] = true
		cur, ok := s.entries[e.Name]
		switch {
		case !ok:
			if err := s.add(ctx, e, now); err != nil {
				return err
			}
			en := s.entries[e.Name]
			heap.Fix(&s.queue, en.index)
		case cur.index < 0 && e.NextDue.After(cur.NextDue):
			// Queued here, and rescheduled in the vault since: with
			// several workers, the run was another's, whose Done
			// rescheduled it. Follow the vault, or this worker would
			// never queue the account again.
			cur.State, cur.NextDue, cur.Failures, cur.Hold = e.State, e.NextDue, e.Failures, e.Hold
			heap.Push(&s.queue, cur)
		case cur.index < 0:
			// Queued or running: Done will reschedule it.
		case e.NextDue.IsZero():
			// Reset by an operator: compute afresh.
			cur.State = e.State
			if err := s.reschedule(ctx, cur, Next(cur.sched, e.Name, now, s.Jitter), 0, ""); err != nil {
				return err
			}
		default:
			cur.State = e.State
			if !e.NextDue.Equal(cur.NextDue) {
				// Another worker rescheduled it (a run, a backoff, the
				// cap): one schedule, the vault's.
				cur.NextDue, cur.Failures, cur.Hold = e.NextDue, e.Failures, e.Hold
				heap.Fix(&s.queue, cur.index)
			}
		}
	}
	for name, e := range s.entries {
		if !seen[name] {
			if e.index >= 0 {
				heap.Remove(&s.queue, e.index)
			}
			delete(s.entries, name)
		}
	}
	return nil
}

// Entry returns an account's scheduling state.
func (s *Scheduler) Entry(name string) (store.ScheduleEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		return store.ScheduleEntry{}, false
	}
	return e.ScheduleEntry, true
}

// Due pops the accounts due at now that may run, each with the time it was
// due: it holds back those the cap or the gap does not allow yet (storing
// when they become allowed and why) and skips those waiting for an
// operator.
func (s *Scheduler) Due(ctx context.Context) ([]store.DueTime, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []store.DueTime
	for len(s.queue) > 0 && !s.queue[0].NextDue.After(now) {
		e := s.queue[0]
		switch e.State {
		case store.StatePaused, store.StateNeedsOperator, store.StateDisabled:
			// Nothing automatic until an operator clears it; look again
			// at the next cron time.
			if err := s.reschedule(ctx, e, Next(e.sched, e.Name, now, s.Jitter), e.Failures, ""); err != nil {
				return out, err
			}
			continue
		}
		allowed, why, err := s.allowed(ctx, e.Name, now)
		if err != nil {
			return out, err
		}
		if allowed.After(now) {
			if err := s.reschedule(ctx, e, allowed, e.Failures, why); err != nil {
				return out, err
			}
			continue
		}
		heap.Pop(&s.queue)
		e.index = -1
		out = append(out, store.DueTime{Name: e.Name, Due: e.NextDue})
	}
	return out, nil
}

// Allowed says when the account may change its password, from the history.
func (s *Scheduler) allowed(ctx context.Context, name string, now time.Time) (time.Time, string, error) {
	return s.Policy.Allowed(ctx, s.Store, name, now)
}

func (s *Scheduler) reschedule(ctx context.Context, e *entry, due time.Time, failures int, hold string) error {
	e.NextDue, e.Failures, e.Hold = due, failures, hold
	if err := s.Store.SetNextDue(ctx, e.Name, due, failures, hold); err != nil {
		return err
	}
	if e.index >= 0 {
		heap.Fix(&s.queue, e.index)
	} else {
		heap.Push(&s.queue, e)
	}
	return nil
}

// Done records a run's outcome and schedules the account's next run: the
// next cron time (held further by the cap or the gap), or the backoff after
// a failure; after MaxFailures in a row the account goes to needs_operator.
// It returns the account's scheduling state after that.
func (s *Scheduler) Done(ctx context.Context, name string, outcome rotation.Outcome) (store.ScheduleEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		return store.ScheduleEntry{}, fmt.Errorf("account %s is not scheduled", name)
	}
	err := s.done(ctx, e, outcome)
	return e.ScheduleEntry, err
}

func (s *Scheduler) done(ctx context.Context, e *entry, outcome rotation.Outcome) error {
	name, now := e.Name, s.now()
	switch outcome {
	case rotation.Busy:
		return s.reschedule(ctx, e, now.Add(BusyRetry), e.Failures, "busy: another run or an operator's session holds the account")
	case rotation.Deferred:
		// The run recovered what a run cut short left; the change is
		// due again, with a fresh budget of failed sign-ins.
		e.State = store.StateActive
		return s.reschedule(ctx, e, now.Add(BusyRetry), e.Failures, "deferred: a run recovered an unfinished rotation; the change runs next")
	case rotation.Failed:
		n := e.Failures + 1
		max := s.MaxFailures
		if max <= 0 {
			max = 3
		}
		if n >= max {
			reason := fmt.Sprintf("%d rotations failed in a row", n)
			if err := s.Store.Flag(ctx, name, store.StateNeedsOperator, reason); err != nil {
				return err
			}
			e.State = store.StateNeedsOperator
			return s.reschedule(ctx, e, Next(e.sched, name, now, s.Jitter), n, reason)
		}
		return s.reschedule(ctx, e, now.Add(s.Backoff.Delay(name, n)), n, fmt.Sprintf("backoff after %d failure(s) in a row", n))
	case rotation.Paused:
		e.State = store.StatePaused
	case rotation.NeedsOperator:
		e.State = store.StateNeedsOperator
	case rotation.Succeeded:
		e.State = store.StateActive
	}
	next := Next(e.sched, name, now, s.Jitter)
	allowed, why, err := s.allowed(ctx, name, next)
	if err != nil {
		return err
	}
	if allowed.After(next) {
		return s.reschedule(ctx, e, allowed, 0, why)
	}
	return s.reschedule(ctx, e, next, 0, "")
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].NextDue.Before(q[j].NextDue) }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i]; q[i].index = i; q[j].index = j }
func (q *queue) Push(x any)        { e := x.(*entry); e.index = len(*q); *q = append(*q, e) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
