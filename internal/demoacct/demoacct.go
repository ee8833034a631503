// Package demoacct adds a demo-site user and the matching vault account, for
// tests that rotate against the demo site.
package demoacct

import (
	"context"
	"testing"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// Add creates the user on the site and an account of the same name in the
// vault, on the demo-social template at siteURL.
func Add(t testing.TB, site *demosite.Site, st *store.Store, siteURL string, u demosite.UserSpec) {
	t.Helper()
	if err := site.AddUser(u); err != nil {
		t.Fatal(err)
	}
	a := store.NewAccount{Account: store.Account{Name: u.Name, Template: "demo-social", Username: u.Name, SiteURL: siteURL},
		Password: secret.New(u.Password)}
	if u.TOTPSecret != "" {
		k, err := otp.ParseSecret(u.TOTPSecret)
		if err != nil {
			t.Fatal(err)
		}
		a.TOTP = &store.TOTP{Key: k}
	}
	if err := st.AddAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}
