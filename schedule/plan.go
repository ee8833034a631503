package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rotator-pam/rotator/store"
)

// Upcoming is an account's next run, as the vault has it now.
type Upcoming struct {
	Name  string
	State store.State
	// Spec is the cron spec the account runs on (the default when it has
	// none of its own).
	Spec string
	Next time.Time
	// Held says why Next is past the cron time ("" when it is not).
	Held string
}

// Plan says when each account runs next and what holds it back, changing
// nothing: its stored due time (for an account never scheduled, its next
// cron time after now, without jitter), now for one missed while nothing
// ran, and no earlier than p allows (the cap and the gap, from the
// history); an account waiting for an operator, or disabled, says so.
func Plan(ctx context.Context, h History, p Policy, entries []store.ScheduleEntry, defaultSpec string, now time.Time) ([]Upcoming, error) {
	out := make([]Upcoming, 0, len(entries))
	for _, e := range entries {
		spec, sched, err := specOf(e, defaultSpec)
		if err != nil {
			return nil, err
		}
		u := Upcoming{Name: e.Name, State: e.State, Spec: spec, Next: e.NextDue, Held: e.Hold}
		if u.Next.IsZero() {
			u.Next = Next(sched, e.Name, now, 0)
		}
		if u.Next.Before(now) {
			u.Next = now // missed while nothing ran: due at start
		}
		switch e.State {
		case store.StatePaused, store.StateNeedsOperator:
			u.Held = "waits for an operator (rotator flags)"
		case store.StateDisabled:
			u.Held = "disabled"
		default:
			allowed, why, err := p.Allowed(ctx, h, e.Name, now)
			if err != nil {
				return nil, err
			}
			if allowed.After(u.Next) {
				u.Next, u.Held = allowed, why
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// specOf is the cron spec an account runs on, its own or else dflt, and
// its schedule.
func specOf(e store.ScheduleEntry, dflt string) (string, cron.Schedule, error) {
	spec := e.Schedule
	if spec == "" {
		spec = dflt
	}
	sched, err := Parse(spec)
	if err != nil {
		return spec, nil, fmt.Errorf("account %s: %w", e.Name, err)
	}
	return spec, sched, nil
}
