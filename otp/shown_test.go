package otp

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

type reservations struct {
	steps []uint64
	err   error
}

func (r *reservations) ReserveStep(_ context.Context, _ string, step uint64) error {
	r.steps = append(r.steps, step)
	return r.err
}

// TestShownReservesWhatItShows: the step shown (the next one, with the next
// code) is reserved once per window; an interrupted reservation is no
// error, any other is.
func TestShownReservesWhatItShows(t *testing.T) {
	k, err := ParseSecret("JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Unix(59, 0) // RFC 6238's first test time: step 1
	for _, withNext := range []bool{false, true} {
		r := &reservations{}
		s := &Shown{Account: "a", Key: k, Guard: r, WithNext: withNext}
		cur, next, err := s.At(ctx, t0)
		if err != nil || cur.Step != 1 || (withNext && next.Step != 2) || (!withNext && next.Step != 0) {
			t.Fatalf("withNext %v: %+v %+v %v", withNext, cur.Step, next.Step, err)
		}
		s.At(ctx, t0.Add(time.Second)) // the same window
		s.At(ctx, t0.Add(30*time.Second))
		want := []uint64{1, 2}
		if withNext {
			want = []uint64{2, 3}
		}
		if !slices.Equal(r.steps, want) {
			t.Errorf("withNext %v: reserved %v, want %v", withNext, r.steps, want)
		}
	}
	// A code whose step was not reserved is never handed out, not even
	// when the command stopped during the reservation.
	r := &reservations{err: context.Canceled}
	if cur, _, err := (&Shown{Key: k, Guard: r}).At(ctx, t0); !errors.Is(err, context.Canceled) || !cur.Code.IsZero() {
		t.Errorf("interrupted: a code handed out (%v, code given %v)", err, !cur.Code.IsZero())
	}
	r.err = errors.New("disk full")
	if _, _, err := (&Shown{Key: k, Guard: r}).At(ctx, t0); err == nil {
		t.Error("a failed reservation passed")
	}
}

// TestWatch: a look at each whole second until the context ends, and a
// failed reservation ends the watch with its error.
func TestWatch(t *testing.T) {
	k, err := ParseSecret("JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var looks []time.Time
	s := &Shown{Account: "a", Key: k, Guard: &reservations{}}
	err = s.Watch(ctx, time.Now, func(cur, _ Token, at time.Time) {
		if cur.Code.IsZero() {
			t.Error("no code")
		}
		if looks = append(looks, at); len(looks) == 2 {
			cancel()
		}
	})
	if err != nil || len(looks) != 2 {
		t.Fatalf("Watch: %v after %d looks", err, len(looks))
	}
	if !looks[1].Truncate(time.Second).After(looks[0].Truncate(time.Second)) {
		t.Errorf("looks at %v and %v: not in later seconds", looks[0], looks[1])
	}
	failing := &Shown{Account: "a", Key: k, Guard: &reservations{err: errors.New("disk full")}}
	if err := failing.Watch(context.Background(), time.Now, func(Token, Token, time.Time) { t.Error("shown after a failure") }); err == nil {
		t.Error("a failed reservation passed")
	}
}

func TestSecondsLeft(t *testing.T) {
	k, _ := ParseSecret("JBSWY3DPEHPK3PXP")
	at := time.Unix(59, 500e6) // step 1 ends at 60
	tok, err := k.At(at)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.SecondsLeft(at); got != 0 {
		t.Errorf("SecondsLeft = %d, want 0 (half a second, rounded down)", got)
	}
	if got := tok.SecondsLeft(time.Unix(31, 0)); got != 29 {
		t.Errorf("SecondsLeft = %d, want 29", got)
	}
}
