package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func seeded(t *testing.T, now time.Time) (*Demo, *demosite.Site, *store.Store) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Create(ctx, filepath.Join(t.TempDir(), "vault.db"), secret.NewMasterKey(), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	site := demosite.New(demosite.Options{ChangesPerDay: 2})
	d, err := Seed(ctx, site, s, "http://127.0.0.1:1/", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return d, site, s
}

// TestSeed: every demo account is on the site and in the vault with the
// same password, a second factor where its kind says so, and due now.
func TestSeed(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d, site, s := seeded(t, now)
	ctx := context.Background()
	due, err := s.ScheduleEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dueAt := map[string]time.Time{}
	for _, e := range due {
		dueAt[e.Name] = e.NextDue
	}
	for _, a := range Accounts() {
		st, ok := site.User(a.Name)
		acct, err := s.Account(ctx, a.Name)
		if !ok || err != nil {
			t.Fatalf("%s: on the site %v, in the vault %v", a.Name, ok, err)
		}
		pw, _ := s.Password(ctx, a.Name)
		if st.Password != pw.Reveal() || st.TOTP != a.TOTP || (acct.TOTP != nil) != a.TOTP || st.TwoStep != a.TwoStep || st.Captcha != a.Flagged {
			t.Errorf("%s: site %+v, vault TOTP %v", a.Name, st, acct.TOTP != nil)
		}
		if acct.Template != Template || !dueAt[a.Name].Equal(now) {
			t.Errorf("%s: template %s, due %v", a.Name, acct.Template, dueAt[a.Name])
		}
	}
	rows := d.Rows()
	if len(rows) != 4 || rows[0].Name != "alice" || rows[3].Name != "dora" || !rows[3].Flagged || rows[0].State != "queued" {
		t.Errorf("rows %+v", rows)
	}
	// Each call hands out its own accounts.
	a := Accounts()
	a[0].Name = "mallory"
	if Accounts()[0].Name != "alice" {
		t.Error("Accounts shares its slice")
	}
}

// TestCheck: an account counts as done only when the site holds the
// vault's new password, changed once; the flagged one only when nothing
// changed.
func TestCheck(t *testing.T) {
	d, _, _ := seeded(t, time.Now())
	ctx := context.Background()
	rows := d.Rows()
	for i := range rows {
		rows[i].Outcome = "succeeded"
	}
	rows[3].Outcome = "paused"
	rows, ok, err := d.Check(ctx, rows)
	if err != nil || ok {
		t.Fatalf("nothing changed on the site, yet ok %v, %v", ok, err)
	}
	if rows[0].Site != "the site does not hold the vault's password" || rows[3].Site != "password unchanged, as it must be" {
		t.Errorf("%q / %q", rows[0].Site, rows[3].Site)
	}
	if f := Flagged(rows); f.Name != "dora" {
		t.Errorf("flagged %q", f.Name)
	}
}
