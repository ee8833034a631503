// Package demoacct adds a demo-site user and the matching vault account, for
// tests that rotate against the demo site.
package demoacct

import (
	"context"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// ShortPeriod is a TOTP period, in seconds, for test users
// (demosite.UserSpec.TOTPPeriod): a rotation signs in twice and the second
// sign-in needs a new time step, which with the common 30 s period costs
// up to half a minute of waiting per rotation.
const ShortPeriod = 4

// TOTP is the vault's TOTP setting for u, or nil when u has no second
// factor: u's secret and period, and for a period under 30 s a minimum
// validity of half of it (the default, 5 s, needs a longer period).
func TOTP(t testing.TB, u demosite.UserSpec) *store.TOTP {
	t.Helper()
	if u.TOTPSecret == "" {
		return nil
	}
	k, err := otp.ParseSecret(u.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPPeriod == 0 {
		return &store.TOTP{Key: k}
	}
	k.Period = time.Duration(u.TOTPPeriod) * time.Second
	tt := &store.TOTP{Key: k}
	if k.Period < 30*time.Second {
		tt.MinValidity = k.Period / 2
	}
	return tt
}

// Add creates the user on the site and an account of the same name in the
// vault, on the demo-social template at siteURL.
func Add(t testing.TB, site *demosite.Site, st *store.Store, siteURL string, u demosite.UserSpec) {
	t.Helper()
	if err := site.AddUser(u); err != nil {
		t.Fatal(err)
	}
	a := store.NewAccount{Account: store.Account{Name: u.Name, Template: "demo-social", Username: u.Name, SiteURL: siteURL,
		TOTP: TOTP(t, u)}, Password: secret.New(u.Password)}
	if err := st.AddAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}
