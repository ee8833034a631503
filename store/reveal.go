package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
)

// Revealed is an account's passwords, shown to a person.
type Revealed struct {
	Password secret.String
	// Pending is zero when the account has no pending password.
	Pending    secret.String
	Candidates []Candidate
}

// Reveal returns the account's current and pending passwords and its
// candidates for actor to see, once the audit log records that actor saw
// them (action account.reveal, with detail saying what is shown where).
// When the entry cannot be written, nothing is returned: no secret is shown
// unaudited.
func (s *Store) Reveal(ctx context.Context, name, actor, detail string) (Revealed, error) {
	var r Revealed
	var err error
	if r.Password, err = s.Password(ctx, name); err != nil {
		return Revealed{}, err
	}
	if r.Pending, err = s.Pending(ctx, name); err != nil && !errors.Is(err, ErrNoPending) {
		return Revealed{}, err
	}
	if r.Candidates, err = s.Candidates(ctx, name); err != nil {
		return Revealed{}, err
	}
	if err := s.Audit(ctx, AuditEvent{Actor: actor, Account: name, Action: "account.reveal", Detail: detail}); err != nil {
		return Revealed{}, fmt.Errorf("record the reveal in the audit log (nothing shown): %w", err)
	}
	return r, nil
}

// MinValidityOr is the account's minimum TOTP validity, or dflt (the
// configuration's) when it sets none.
func (t TOTP) MinValidityOr(dflt time.Duration) time.Duration {
	if t.MinValidity == 0 {
		return dflt
	}
	return t.MinValidity
}

// TOTPKey is the account's TOTP key as an authenticator app gets it: the
// label, when the key has none, is the account's username. ok is false
// when the account has no TOTP secret.
func (a Account) TOTPKey() (k otp.Key, ok bool) {
	if a.TOTP == nil {
		return otp.Key{}, false
	}
	k = a.TOTP.Key
	if k.Label == "" {
		k.Label = a.Username
	}
	return k, true
}
