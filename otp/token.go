package otp

import (
	"context"
	"errors"
	"fmt"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/rotator-pam/rotator/secret"
)

// Token is one TOTP code and the time window it belongs to.
type Token struct {
	Code secret.String
	// Step is the RFC 6238 time step: floor(unix seconds / period).
	Step uint64
	// Start and End bound the window in which Code is valid: [Start, End).
	Start, End time.Time
}

// Remaining is how long the code stays valid after t (zero once expired).
func (t Token) Remaining(at time.Time) time.Duration {
	if d := t.End.Sub(at); d > 0 {
		return d
	}
	return 0
}

// Step returns the time step that t falls in.
func (k Key) Step(t time.Time) uint64 {
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	return uint64(sec) / uint64(k.Period/time.Second)
}

// AtStep returns the code of time step n.
func (k Key) AtStep(n uint64) (Token, error) {
	if err := k.Validate(); err != nil {
		return Token{}, err
	}
	digits := potp.DigitsSix
	if k.Digits == 8 {
		digits = potp.DigitsEight
	}
	code, err := hotp.GenerateCodeCustom(k.Secret.Reveal(), n, hotp.ValidateOpts{Digits: digits, Algorithm: k.Algorithm.pquerna()})
	if err != nil {
		// pquerna's errors do not contain the secret, but be certain.
		return Token{}, fmt.Errorf("generate TOTP code: %w", ErrInvalidSecret)
	}
	p := int64(k.Period / time.Second)
	start := time.Unix(int64(n)*p, 0)
	return Token{Code: secret.New(code), Step: n, Start: start, End: start.Add(k.Period)}, nil
}

// At returns the code valid at t, and so how long it stays valid.
func (k Key) At(t time.Time) (Token, error) { return k.AtStep(k.Step(t)) }

// Next returns the code of the window after the one t falls in.
func (k Key) Next(t time.Time) (Token, error) { return k.AtStep(k.Step(t) + 1) }

// DefaultMinValidity is how long a code must stay valid to be handed out
// for typing into a page: enough to type it, submit, and reach the server.
const DefaultMinValidity = 5 * time.Second

// StepGuard remembers, per account, the latest time step handed out, so that
// no step is used twice. The store implements it durably, so the guarantee
// holds across processes and restarts.
type StepGuard interface {
	// ClaimStep records step as used for account if it is later than every
	// step used before, and reports whether it was; when it was not, last is
	// the latest step already used.
	ClaimStep(ctx context.Context, account string, step uint64) (ok bool, last uint64, err error)
}

// Clock tells the time and waits; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Generator hands out codes for automated logins under the fresh-code policy
// and the replay guard.
type Generator struct {
	Clock Clock
	Guard StepGuard
}

// ErrMinValidity is returned when a minimum validity cannot be met by any
// code of the key.
var ErrMinValidity = errors.New("minimum TOTP validity must be shorter than the period")

// Fresh returns a code for account that stays valid for at least
// minValidity (DefaultMinValidity when zero) and whose time step was never
// handed out before. It waits for the next window when it must, and returns
// early with ctx's error if ctx ends first.
func (g Generator) Fresh(ctx context.Context, account string, k Key, minValidity time.Duration) (Token, error) {
	if minValidity == 0 {
		minValidity = DefaultMinValidity
	}
	if minValidity < 0 || minValidity >= k.Period {
		return Token{}, fmt.Errorf("%w (min %v, period %v)", ErrMinValidity, minValidity, k.Period)
	}
	clock := g.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	var floor uint64 // the first step that may still be claimed
	for {
		now := clock.Now()
		tok, err := k.At(now)
		if err != nil {
			return Token{}, err
		}
		if tok.Step < floor || tok.Remaining(now) < minValidity {
			target := max(floor, tok.Step+1)
			start := time.Unix(int64(target)*int64(k.Period/time.Second), 0)
			if err := clock.Sleep(ctx, start.Sub(now)); err != nil {
				return Token{}, fmt.Errorf("wait for a fresh TOTP code: %w", err)
			}
			continue
		}
		if g.Guard == nil {
			return tok, nil
		}
		ok, last, err := g.Guard.ClaimStep(ctx, account, tok.Step)
		if err != nil {
			return Token{}, fmt.Errorf("claim TOTP time step: %w", err)
		}
		if ok {
			return tok, nil
		}
		floor = last + 1
	}
}
