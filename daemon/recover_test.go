package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// countingOpener is a browser that never starts; it counts who asked.
type countingOpener struct {
	mu     sync.Mutex
	opened map[string]int
}

func (o *countingOpener) Open(_ context.Context, acct store.Account, _ *templates.Template, _ rotator.Hooks) (rotator.Session, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opened[acct.Name]++
	return nil, errors.New("test: no browser")
}

// Start-up recovery leaves alone an account waiting for an operator
// (needs_operator or paused), pending password or not: probing it again
// could lock it out through repeated failed sign-ins. An unfinished
// rotation of an account nobody flagged is still recovered.
func TestRecoverLeavesFlaggedAccountsAlone(t *testing.T) {
	ctx := context.Background()
	s, err := store.Create(ctx, filepath.Join(t.TempDir(), "vault.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name  string
		state store.State
	}{
		{"held", store.StateNeedsOperator},
		{"paused", store.StatePaused},
		{"crashed", store.StateRunning},
	} {
		if err := s.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: c.name, Template: "demo-social", Username: c.name,
			SiteURL: "http://127.0.0.1:1/"}, Password: secret.New("Current-pw-1234")}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPending(ctx, c.name, secret.New("Pending-pw-5678")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flag(ctx, c.name, c.state, "test"); err != nil {
			t.Fatal(err)
		}
	}
	opener := &countingOpener{opened: map[string]int{}}
	d := &Daemon{Store: s, Rotator: &rotator.Rotator{Store: s, Opener: opener, Actor: "scheduler",
		Templates: func(name string) (*templates.Template, error) {
			tpl, diags := templates.Find(name, "")
			if tpl == nil {
				return nil, diags.Err()
			}
			return tpl, nil
		}}}
	if err := d.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	opener.mu.Lock()
	defer opener.mu.Unlock()
	for _, name := range []string{"held", "paused"} {
		if n := opener.opened[name]; n != 0 {
			t.Errorf("%s: recovery opened a browser %d time(s) on an account waiting for an operator", name, n)
		}
		a, _ := s.Account(ctx, name)
		if !a.HasPending {
			t.Errorf("%s: the pending password is gone", name)
		}
	}
	if opener.opened["crashed"] != 1 {
		t.Errorf("the unfinished rotation of an unflagged account was not recovered (%d opens)", opener.opened["crashed"])
	}
	for _, name := range []string{"held", "paused"} {
		if a, _ := s.Account(ctx, name); a.State != store.StateNeedsOperator && a.State != store.StatePaused {
			t.Errorf("%s: state changed to %s", name, a.State)
		}
	}
}
