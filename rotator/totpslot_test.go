package rotator

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// browserSlot records what a run gives back and takes again.
type browserSlot struct {
	mu     sync.Mutex
	events []string
}

func (s *browserSlot) Release()                      { s.note("release") }
func (s *browserSlot) Acquire(context.Context) error { s.note("acquire"); return nil }
func (s *browserSlot) ReleaseBrowser()               { s.note("release-browser") }
func (s *browserSlot) AcquireBrowser(context.Context) error {
	s.note("acquire-browser")
	return nil
}
func (s *browserSlot) note(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

// A run that must wait for a fresh TOTP time step gives its browser slot
// back while it waits, and takes it again before the code is typed.
func TestTOTPWaitGivesTheBrowserSlotBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "vault.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := otp.Key{Secret: secret.New(demoSecret), Algorithm: otp.SHA1, Digits: 6, Period: 2 * time.Second}
	acct := store.Account{Name: "alice", Template: "demo-social", Username: "alice", SiteURL: "http://127.0.0.1:1/",
		TOTP: &store.TOTP{Key: key, MinValidity: time.Second}}
	if err := st.AddAccount(ctx, store.NewAccount{Account: acct, Password: secret.New("Alice-pass-1234")}); err != nil {
		t.Fatal(err)
	}
	slot := &browserSlot{}
	tpl, diags := templates.Find("demo-social", "")
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	a := &attempt{r: &Rotator{Store: st}, name: "alice", slot: slot, tpl: tpl,
		acct: acct}
	v := a.values(secret.String{}, secret.String{})
	// Two codes: the second needs the next time step, which is a wait.
	for range 2 {
		if _, err := v.TOTP(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if len(slot.events) < 2 || slot.events[0] != "release-browser" || slot.events[1] != "acquire-browser" || len(slot.events)%2 != 0 {
		t.Errorf("slot events %v", slot.events)
	}
}
