package otp

import (
	"context"
	"errors"
	"time"
)

// Reserver marks a time step of an account as used, without failing when a
// later one already is. The vault implements it.
type Reserver interface {
	ReserveStep(ctx context.Context, account string, step uint64) error
}

// Shown hands out an account's codes for a person to read. Each window's
// codes are marked as used before they are shown, so that rotator's own
// logins never submit a code a person may have typed elsewhere.
type Shown struct {
	Account string
	Key     Key
	Guard   Reserver
	// WithNext shows the next window's code too (and so reserves it).
	WithNext bool

	reserved uint64 // the window last reserved, once done is set
	done     bool
}

// At returns the code valid at now and, WithNext, the next window's code,
// reserving the latest step shown once per window. A code whose step could
// not be reserved is never returned: when the reservation was interrupted
// (the command stopped), the error is ctx's.
func (s *Shown) At(ctx context.Context, now time.Time) (cur, next Token, err error) {
	if cur, err = s.Key.At(now); err != nil {
		return Token{}, Token{}, err
	}
	if s.WithNext {
		if next, err = s.Key.Next(now); err != nil {
			return Token{}, Token{}, err
		}
	}
	if !s.done || cur.Step != s.reserved {
		step := cur.Step
		if s.WithNext {
			step++
		}
		if err := s.Guard.ReserveStep(ctx, s.Account, step); err != nil {
			return Token{}, Token{}, err
		}
		s.reserved, s.done = cur.Step, true
	}
	return cur, next, nil
}

// Watch calls show with the codes At each whole second of the clock now,
// from now until ctx ends (then it returns nil) or At fails.
func (s *Shown) Watch(ctx context.Context, now func() time.Time, show func(cur, next Token, at time.Time)) error {
	for {
		at := now()
		cur, next, err := s.At(ctx, at)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				return nil // stopped: nothing shown that was not reserved
			}
			return err
		}
		show(cur, next, at)
		// Wake at the next whole second.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second - time.Duration(at.Nanosecond())):
		}
	}
}

// SecondsLeft is how many whole seconds the code stays valid after now,
// rounded down: it is valid for at least that long.
func (t Token) SecondsLeft(now time.Time) int { return int(t.Remaining(now) / time.Second) }
