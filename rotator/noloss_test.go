package rotator

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

const oldPassword = "Old-pass-0000"

// fakeEnv is a vault file and a fake site for one account, alice.
type fakeEnv struct {
	t      *testing.T
	dir    string
	key    secret.MasterKey
	site   *fakeSite
	budget int
	// tplBudget is the template's max_failed_sign_ins (0: none).
	tplBudget int
	// opens counts vault opens: each later one runs an hour later, so a
	// crashed run's lease has expired.
	opens int
}

func newFakeEnv(t *testing.T, behave func(int) behaviour) *fakeEnv {
	t.Helper()
	e := &fakeEnv{t: t, dir: t.TempDir(), key: secret.NewMasterKey(), site: newFakeSite(oldPassword, behave)}
	st, err := store.Create(context.Background(), vaultPath(e.dir), e.key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.AddAccount(context.Background(), store.NewAccount{
		Account:  store.Account{Name: "alice", Template: "fake", Username: "alice@example.test"},
		Password: secret.New(oldPassword)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// open opens the vault as a new process would.
func (e *fakeEnv) open() *store.Store {
	e.t.Helper()
	shift := time.Duration(e.opens) * time.Hour
	e.opens++
	st, err := store.Open(context.Background(), vaultPath(e.dir), e.key, store.WithClock(func() time.Time { return time.Now().Add(shift) }))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *fakeEnv) rotator(st Store) *Rotator {
	return &Rotator{
		Store:  st,
		Opener: fakeOpener{site: e.site},
		Templates: func(string) (*templates.Template, error) {
			tpl := fakeTemplate()
			tpl.MaxFailedSignIns = e.tplBudget
			return tpl, nil
		},
		Actor:            "test",
		MaxFailedSignIns: e.budget,
		Now:              func() time.Time { return time.Now().Add(time.Duration(e.opens) * time.Hour) },
	}
}

// run runs op (rotate or verify) in a new "process": a fresh vault handle
// and Rotator. A crash of the fake site closes the vault handle, so the
// dead process writes nothing more. It checks the per-run invariants.
func (e *fakeEnv) run(op string) Result {
	e.t.Helper()
	st := e.open()
	e.site.mu.Lock()
	e.site.onCrash = func() { st.Close() }
	e.site.mu.Unlock()
	_, failedBefore, _ := e.site.state()
	r := e.rotator(st)
	var res Result
	var err error
	if op == "verify" {
		res, err = r.Verify(context.Background(), "alice")
	} else {
		res, err = r.Rotate(context.Background(), "alice")
	}
	sitePW, failedAfter, crashed := e.site.state()
	if crashed {
		return res
	}
	if err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
	budget := e.budget
	if budget == 0 {
		budget = DefaultMaxFailedSignIns
	}
	if e.tplBudget > 0 {
		budget = e.tplBudget
	}
	if n := failedAfter - failedBefore; n > budget {
		e.t.Errorf("%s: %d failed sign-ins in one run, budget %d", op, n, budget)
	}
	if res.Outcome == rotation.Succeeded && e.current() != sitePW {
		e.t.Errorf("%s succeeded, but the vault's current password does not sign in", op)
	}
	return res
}

// current reads the vault's current password.
func (e *fakeEnv) current() string {
	e.t.Helper()
	st := e.open()
	defer st.Close()
	pw, err := st.Password(context.Background(), "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	return pw.Reveal()
}

// candidates reads the vault's candidates, by value.
func (e *fakeEnv) candidates() map[string]store.CandidateState {
	e.t.Helper()
	st := e.open()
	defer st.Close()
	cands, err := st.Candidates(context.Background(), "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.CandidateState{}
	for _, c := range cands {
		out[c.Password.Reveal()] = c.State
	}
	return out
}

// checkNoLoss asserts the invariants that hold after every run: the site's
// password is in the vault, current or a candidate; refused passwords were
// not submitted again once the rotator saw the refusal.
func (e *fakeEnv) checkNoLoss() {
	e.t.Helper()
	sitePW, _, _ := e.site.state()
	if _, ok := e.candidates()[sitePW]; !ok && e.current() != sitePW {
		e.t.Errorf("the site's password is neither current nor a candidate in the vault")
	}
	e.site.mu.Lock()
	defer e.site.mu.Unlock()
	for pw, n := range e.site.told {
		if e.site.submitted[pw] != n {
			e.t.Errorf("a password the site refused, and the rotator saw refused, was submitted again")
		}
	}
}

func seq(bs ...behaviour) func(int) behaviour {
	return func(n int) behaviour {
		if n > len(bs) {
			return bs[len(bs)-1]
		}
		return bs[n-1]
	}
}

// The rotation's decisions over every kind of site answer.
func TestNoLossDecisions(t *testing.T) {
	tests := []struct {
		name    string
		site    func(int) behaviour
		budget  int
		want    rotation.Outcome
		changed bool // the site's password is no longer the old one
		// pendingLeft: a candidate is kept for the next run.
		pendingLeft bool
		// neverSent: the site never saw the candidate, so no sign-in
		// may fail to prove it.
		neverSent bool
	}{
		{name: "accepted", site: seq(accept), want: rotation.Succeeded, changed: true},
		{name: "refused, budget for one candidate", site: seq(refuse), want: rotation.Failed},
		{name: "refused, then accepted", site: seq(refuse, accept), budget: 3, want: rotation.Succeeded, changed: true},
		{name: "refused three times", site: seq(refuse), budget: 4, want: rotation.Failed},
		{name: "silent: confirms, changes nothing", site: seq(silent), want: rotation.Failed, pendingLeft: true},
		{name: "lying: changes, shows a rejection", site: seq(lying), want: rotation.Succeeded, changed: true},
		{name: "refused, then lying", site: seq(refuse, lying), budget: 3, want: rotation.Succeeded, changed: true},
		{name: "times out after the change", site: seq(timeout), want: rotation.Succeeded, changed: true},
		{name: "form broken before anything is sent", site: seq(brokenForm), want: rotation.Failed, pendingLeft: true, neverSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newFakeEnv(t, tt.site)
			e.budget = tt.budget
			res := e.run("rotate")
			if res.Outcome != tt.want {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tt.want)
			}
			e.checkNoLoss()
			sitePW, _, _ := e.site.state()
			if (sitePW != oldPassword) != tt.changed {
				t.Errorf("site password changed: %v, want %v", sitePW != oldPassword, tt.changed)
			}
			if tt.want != rotation.Succeeded && e.current() != oldPassword {
				t.Error("current changed by a rotation that did not succeed")
			}
			if _, failed, _ := e.site.state(); tt.neverSent && failed > 0 {
				t.Errorf("%d failed sign-ins to prove a password that was never set", failed)
			}
			cands := e.candidates()
			if tt.pendingLeft != (len(cands) > 0) {
				t.Errorf("candidates left: %d, want some: %v", len(cands), tt.pendingLeft)
			}
			if strings.Contains(res.Reason, oldPassword) || strings.Contains(res.Recovered.String(), oldPassword) {
				t.Error("a password in the result")
			}
			for pw := range cands {
				if strings.Contains(res.Reason, pw) {
					t.Error("a candidate in the result")
				}
			}
			// The next run starts from what this one left, and keeps the
			// invariants.
			e.site.mu.Lock()
			e.site.behave = seq(accept)
			e.site.mu.Unlock()
			if res := e.run("rotate"); res.Outcome != rotation.Succeeded {
				t.Errorf("next rotation: %s (%s)", res.Outcome, res.Reason)
			}
			e.checkNoLoss()
		})
	}
}

// A site that stores something other than what was typed: the rotation
// does not succeed, the account is flagged, every password is kept.
func TestSiteStoresSomethingElse(t *testing.T) {
	e := newFakeEnv(t, seq(storeOther))
	res := e.run("rotate")
	if res.Outcome == rotation.Succeeded || res.Outcome == rotation.Refused {
		t.Fatalf("outcome %s", res.Outcome)
	}
	st := e.open()
	acct, err := st.Account(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if acct.State != store.StateNeedsOperator && acct.State != store.StateFailed {
		t.Errorf("state %s, want flagged", acct.State)
	}
	if e.current() != oldPassword {
		t.Error("current changed")
	}
	e.site.mu.Lock()
	var typed string
	for pw := range e.site.submitted {
		typed = pw
	}
	e.site.mu.Unlock()
	if c := e.candidates(); c[typed] != store.CandidateSubmitted {
		t.Errorf("the typed password is not kept as a submitted candidate: %v", c[typed])
	}
	if res := e.run("rotate"); res.Outcome != rotation.Refused && acct.State == store.StateNeedsOperator {
		t.Errorf("a flagged account was rotated again: %s", res.Outcome)
	}
}

// A crash at every step boundary, then a run of a new process on the same
// vault file: the site's password is never lost, and a run that says it
// succeeded has a current password that signs in.
func TestCrashAtEveryBoundary(t *testing.T) {
	sites := map[string]func(int) behaviour{
		"broken form":         seq(brokenForm, accept),
		"accepted":            seq(accept),
		"lying":               seq(lying),
		"refused then accept": seq(refuse, accept),
		"silent":              seq(silent),
		"timeout":             seq(timeout),
	}
	for name, behave := range sites {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for k := 1; ; k++ {
				e := newFakeEnv(t, behave)
				e.budget = 3
				e.site.crashAt = k
				e.run("rotate")
				_, _, crashed := e.site.state()
				if !crashed {
					if k < 3 {
						t.Fatalf("a whole run has only %d step boundaries", k-1)
					}
					break
				}
				e.checkNoLoss()
				e.site.mu.Lock()
				e.site.crashed, e.site.crashAt = false, 0
				e.site.mu.Unlock()
				res := e.run("rotate")
				e.checkNoLoss()
				if res.Outcome == rotation.NeedsOperator || res.Outcome == rotation.Refused {
					t.Errorf("crash at boundary %d: recovery ended %s (%s)", k, res.Outcome, res.Reason)
				}
				// The site answers plainly again: the run after the crash
				// ends proven, with the site's password current.
				if sitePW, _, _ := e.site.state(); e.current() != sitePW {
					t.Errorf("crash at boundary %d: after recovery (%s: %s) the current password does not sign in", k, res.Outcome, res.Reason)
				}
			}
		})
	}
}

// Recovery probes the pending and submitted candidates newest first, then
// current, then previous passwords, then refused candidates; never one
// proven never submitted; and stops at the budget, naming what it did not
// try.
func TestRecoveryOrderAndBudget(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fakeEnv, map[string]string) {
		e := newFakeEnv(t, nil)
		st := e.open()
		defer st.Close()
		if err := st.ReplacePassword(ctx, "alice", secret.New("Prev-2"), "set by administrator"); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplacePassword(ctx, "alice", secret.New("Current-3"), "set by administrator"); err != nil {
			t.Fatal(err)
		}
		s1, err := st.AddCandidate(ctx, "alice", secret.New("Refused-c1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkCandidate(ctx, "alice", s1, store.CandidateSubmitted); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkCandidate(ctx, "alice", s1, store.CandidateRefused); err != nil {
			t.Fatal(err)
		}
		s2, err := st.AddCandidate(ctx, "alice", secret.New("Submitted-c2"))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkCandidate(ctx, "alice", s2, store.CandidateSubmitted); err != nil {
			t.Fatal(err)
		}
		// The page that "refused" c1 was misread: c1 is the site's.
		e.site.password = "Refused-c1"
		return e, map[string]string{"Submitted-c2": "pending", "Current-3": "current",
			"Prev-2": "previous #2", oldPassword: "previous #1", "Refused-c1": "refused candidate #1"}
	}
	t.Run("within budget", func(t *testing.T) {
		e, _ := setup(t)
		e.budget = 5
		res := e.run("verify")
		if res.Outcome != rotation.Succeeded || e.current() != "Refused-c1" {
			t.Fatalf("%s %s", res.Outcome, res.Reason)
		}
		want := []string{"Submitted-c2", "Current-3", "Refused-c1"}
		if got := e.site.logins; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("probe order %v, want %v", got, want)
		}
		if len(e.candidates()) != 0 {
			t.Error("candidates left after the promotion")
		}
	})
	t.Run("budget spent", func(t *testing.T) {
		e, labels := setup(t)
		res := e.run("verify")
		if res.Outcome != rotation.NeedsOperator {
			t.Fatalf("%s %s", res.Outcome, res.Reason)
		}
		if len(e.site.logins) != 2 {
			t.Errorf("%d sign-ins with a budget of 2 failures", len(e.site.logins))
		}
		for _, untried := range []string{"previous #2", "previous #1", "refused candidate #1"} {
			if !strings.Contains(res.Reason, untried) {
				t.Errorf("reason does not name %s: %s", untried, res.Reason)
			}
		}
		for pw := range labels {
			if strings.Contains(res.Reason, pw) {
				t.Errorf("reason holds a password: %s", res.Reason)
			}
		}
		if c := e.candidates(); len(c) != 2 {
			t.Errorf("candidates %v", c)
		}
	})
	t.Run("the template's budget", func(t *testing.T) {
		e, _ := setup(t)
		e.budget, e.tplBudget = 5, 1
		if res := e.run("verify"); res.Outcome != rotation.NeedsOperator {
			t.Fatalf("%s %s", res.Outcome, res.Reason)
		}
		if len(e.site.logins) != 1 {
			t.Errorf("%d sign-ins with a template budget of 1 failure", len(e.site.logins))
		}
	})
	t.Run("never submitted is not probed", func(t *testing.T) {
		e := newFakeEnv(t, nil)
		st := e.open()
		if _, err := st.AddCandidate(ctx, "alice", secret.New("Stored-not-sent")); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if res := e.run("verify"); res.Outcome != rotation.Succeeded || res.Recovered.Ran() {
			t.Fatalf("%s %s %q", res.Outcome, res.Reason, res.Recovered.String())
		}
		for _, pw := range e.site.logins {
			if pw == "Stored-not-sent" {
				t.Error("a candidate never submitted was probed")
			}
		}
		// The next rotation submits it.
		if res := e.run("rotate"); res.Outcome != rotation.Succeeded || e.current() != "Stored-not-sent" {
			t.Errorf("%s %s", res.Outcome, res.Reason)
		}
	})
}

// lockHook runs before each lease is taken (another process acting just
// before this run takes the account).
type lockHook struct {
	Store
	before func()
}

func (h lockHook) LockAccountIf(ctx context.Context, name, owner string, ttl time.Duration, admit store.Admit) (store.Lease, error) {
	if h.before != nil {
		h.before()
	}
	return h.Store.LockAccountIf(ctx, name, owner, ttl, admit)
}

// The state and the rate limit are checked again once the lease is held.
func TestChecksUnderTheLease(t *testing.T) {
	ctx := context.Background()
	t.Run("needs operator", func(t *testing.T) {
		e := newFakeEnv(t, nil)
		st := e.open()
		r := e.rotator(lockHook{Store: st, before: func() {
			if err := st.Flag(ctx, "alice", store.StateNeedsOperator, "flagged meanwhile"); err != nil {
				t.Error(err)
			}
		}})
		res, err := r.Rotate(ctx, "alice")
		if err != nil || res.Outcome != rotation.Refused {
			t.Fatalf("%+v %v", res, err)
		}
		if len(e.site.logins) != 0 {
			t.Error("signed in to a flagged account")
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		e := newFakeEnv(t, nil)
		st := e.open()
		r := e.rotator(lockHook{Store: st, before: func() {
			for _, pw := range []string{"Other-1", "Other-2"} {
				if err := st.SetPending(ctx, "alice", secret.New(pw)); err != nil {
					t.Error(err)
				}
				if err := st.Promote(ctx, "alice", secret.New(pw), "rotation"); err != nil {
					t.Error(err)
				}
			}
		}})
		res, err := r.Rotate(ctx, "alice")
		if err != nil || res.Outcome != rotation.Refused || res.NextAllowed.IsZero() {
			t.Fatalf("%+v %v", res, err)
		}
		if len(e.site.logins) != 0 {
			t.Error("signed in past the rate limit")
		}
	})
}

// flakyRenew fails the first renewals, then tells renewed.
type flakyRenew struct {
	Store
	mu      *sync.Mutex
	fails   *int
	renewed chan struct{}
}

func (f flakyRenew) RenewLock(ctx context.Context, l store.Lease, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.fails > 0 {
		*f.fails--
		return errors.New("database is locked")
	}
	if err := f.Store.RenewLock(ctx, l, ttl); err != nil {
		return err
	}
	select {
	case <-f.renewed:
	default:
		close(f.renewed)
	}
	return nil
}

// A renewal that fails is retried until the lease would expire; the run
// goes on.
func TestLeaseRenewalRetried(t *testing.T) {
	e := newFakeEnv(t, nil)
	st := e.open()
	fails := 2
	f := flakyRenew{Store: st, mu: &sync.Mutex{}, fails: &fails, renewed: make(chan struct{})}
	e.site.gate = f.renewed // the change waits for a renewal that worked
	r := e.rotator(f)
	r.LockTTL = 1500 * time.Millisecond
	res, err := r.Rotate(context.Background(), "alice")
	if err != nil || res.Outcome != rotation.Succeeded {
		t.Fatalf("%+v %v", res, err)
	}
}

// A run whose lease another run took (it expired) writes nothing more: its
// promotion is refused, and the candidate it submitted stays in the vault.
func TestLostLeaseWritesNothing(t *testing.T) {
	ctx := context.Background()
	e := newFakeEnv(t, nil)
	st := e.open()
	gate, waiting := make(chan struct{}), make(chan struct{}, 1)
	e.site.gate, e.site.waiting = gate, waiting
	r := e.rotator(st)
	done := make(chan Result, 1)
	go func() {
		res, err := r.Rotate(ctx, "alice")
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// While the change waits, another process, an hour later, takes the
	// expired lease.
	<-waiting
	other := e.open()
	lease, err := other.LockAccount(ctx, "alice", "other", time.Minute)
	close(gate)
	if err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.Outcome == rotation.Succeeded || !strings.Contains(res.Reason, store.ErrLeaseLost.Error()) {
		t.Fatalf("%s %s", res.Outcome, res.Reason)
	}
	if e.current() != oldPassword {
		t.Error("the run that lost its lease promoted")
	}
	e.checkNoLoss()
	if err := other.RenewLock(ctx, lease, time.Minute); err != nil {
		t.Errorf("the loser released the winner's lease: %v", err)
	}
}
