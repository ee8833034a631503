// Package schedule decides when each account's password may and should
// change: cron says when to try, the stored history says whether it may.
//
// # Guarantees
//
//   - [Policy.NextAllowed] never allows more than MaxChanges changes in any
//     rolling 24 hours, nor two changes closer than MinGap, computed from
//     the change times it is given (the vault's history), so restarts change
//     nothing.
//   - [Next] stores nothing itself: callers keep the next due time in the
//     vault, so a missed run (the daemon was down) runs once at start, not
//     once per missed tick.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rotator-pam/rotator/store"
)

// Defaults.
const (
	DefaultMaxChanges = 2
	DefaultMinGap     = 6 * time.Hour
)

// Policy is the hard cap on password changes.
type Policy struct {
	// MaxChanges per account in any rolling 24 hours (default 2).
	MaxChanges int
	// MinGap between two changes; 0: none. (The configuration's default is
	// DefaultMinGap.)
	MinGap time.Duration
}

func (p Policy) max() int {
	if p.MaxChanges <= 0 {
		return DefaultMaxChanges
	}
	return p.MaxChanges
}

func (p Policy) gap() time.Duration { return max(p.MinGap, 0) }

// History is what Allowed reads of an account: its changes and its own
// limit.
type History interface {
	Changes(ctx context.Context, name string, since time.Time) ([]time.Time, error)
	GetLimit(ctx context.Context, name string) (store.Limit, error)
}

// Allowed decides, from the stored history, when the account may change its
// password again at or after now, and why not before ("" and now when it
// may now). The scheduler and a rotation both ask it: one rule for the cap
// and the gap.
func (p Policy) Allowed(ctx context.Context, h History, name string, now time.Time) (time.Time, string, error) {
	since := now.Add(-24 * time.Hour)
	if g := p.gap(); g > 24*time.Hour {
		since = now.Add(-g)
	}
	changes, err := h.Changes(ctx, name, since)
	if err != nil {
		return time.Time{}, "", err
	}
	l, err := h.GetLimit(ctx, name)
	if err != nil {
		return time.Time{}, "", err
	}
	at, why := p.ForAccount(l.Max, l.Override).NextAllowed(changes, now)
	return at, why, nil
}

// ForAccount applies an account's own limit: lower than the policy's cap
// always, higher only with the (audited) override.
func (p Policy) ForAccount(max int, override bool) Policy {
	if max > 0 && (max < p.max() || override) {
		p.MaxChanges = max
	}
	return p
}

// NextAllowed returns the earliest time at or after now when another change
// keeps the policy, given the times of past changes (any order), and why it
// is later than now ("" when a change is allowed now).
func (p Policy) NextAllowed(changes []time.Time, now time.Time) (time.Time, string) {
	cs := append([]time.Time(nil), changes...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Before(cs[j]) })
	at, why := now, ""
	if n := len(cs); n > 0 && p.gap() > 0 {
		if g := cs[n-1].Add(p.gap()); g.After(at) {
			at = g
			why = fmt.Sprintf("minimum gap: the last change was at %s and changes are at least %v apart", cs[n-1].UTC().Format(time.RFC3339), p.gap())
		}
	}
	// The cap: at most max changes in (T-24h, T]. The window at T holds the
	// changes after T-24h; it has room when the max-th latest change is at
	// or before T-24h.
	max := p.max()
	if n := len(cs); n >= max {
		free := cs[n-max].Add(24 * time.Hour)
		if free.After(at) {
			at = free
			why = fmt.Sprintf("cap: %d changes in the 24 hours before %s (at most %d)", max, free.UTC().Format(time.RFC3339), max)
		}
	}
	return at, why
}

// Parse reads a cron spec: five fields, a descriptor (@daily, @every 12h),
// optionally after CRON_TZ=Zone.
func Parse(spec string) (cron.Schedule, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("schedule is empty")
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// Next is the first run of spec after t, delayed by a jitter in [0, jitter)
// that is stable for an account and a slot (so a restart computes the same
// time), spreading accounts with the same spec apart.
func Next(s cron.Schedule, account string, t time.Time, jitter time.Duration) time.Time {
	next := s.Next(t)
	if jitter <= 0 || next.IsZero() {
		return next
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s@%d", account, next.Unix())
	return next.Add(time.Duration(h.Sum64() % uint64(jitter)))
}

// Backoff is the product's own retry delay after failures in a row:
// exponential from Base, capped at Max, with a stable jitter of up to a
// quarter of the delay.
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after the n-th failure in a row (n >= 1).
func (b Backoff) Delay(account string, n int) time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = 15 * time.Minute
	}
	if max <= 0 {
		max = 12 * time.Hour
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", account, n)
	return d + time.Duration(h.Sum64()%uint64(d/4+1))
}
