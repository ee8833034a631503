package rotator

import (
	"context"
	"errors"
	"testing"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// failing is a vault whose named method fails.
type failing struct {
	Store
	method string
}

var errDisk = errors.New("disk on fire")

func (f failing) Candidates(ctx context.Context, name string) ([]store.Candidate, error) {
	if f.method == "Candidates" {
		return nil, errDisk
	}
	return f.Store.Candidates(ctx, name)
}

func (f failing) Promote(ctx context.Context, name string, pw secret.String, reason string) error {
	if f.method == "Promote" {
		return errDisk
	}
	return f.Store.Promote(ctx, name, pw, reason)
}

func (f failing) RestorePrevious(ctx context.Context, name string, seq int64, reason string) error {
	if f.method == "RestorePrevious" {
		return errDisk
	}
	return f.Store.RestorePrevious(ctx, name, seq, reason)
}

// seed puts a candidate in the vault, submitted unless pending says not.
func seed(t *testing.T, st *store.Store, pw string, submitted bool) {
	t.Helper()
	ctx := context.Background()
	n, err := st.AddCandidate(ctx, "alice", secret.New(pw))
	if err != nil {
		t.Fatal(err)
	}
	if submitted {
		if err := st.MarkCandidate(ctx, "alice", n, store.CandidateSubmitted); err != nil {
			t.Fatal(err)
		}
	}
}

// changedOnce makes the vault's current password P1, the old one
// previous.
func changedOnce(t *testing.T, st *store.Store) {
	t.Helper()
	seed(t, st, "P1-pass-1111", true)
	if err := st.Promote(context.Background(), "alice", secret.New("P1-pass-1111"), "seed"); err != nil {
		t.Fatal(err)
	}
}

// TestRecoveryFindings is the branch table of the rotation's recovery:
// every thing recovery can find (rotation.AllFound) is reached by a row,
// over a fake site and a real vault file, in milliseconds.
func TestRecoveryFindings(t *testing.T) {
	const cand = "Cand-pass-2222"
	tests := []struct {
		name   string
		op     string
		budget int
		site   string // the site's password ("": the old one)
		seed   func(t *testing.T, st *store.Store)
		fail   string // the vault method that fails
		trap   bool   // a CAPTCHA on every sign-in
		// onPrevious: the site holds a previous password (kept in the
		// history, not current nor a candidate).
		onPrevious bool
		want       rotation.Found
		out        rotation.Outcome
	}{
		{name: "nothing to recover", op: "rotate", want: rotation.NotNeeded, out: rotation.Succeeded},
		{name: "candidates unreadable", op: "verify", fail: "Candidates", want: rotation.NotRun, out: rotation.Failed},
		{name: "challenge while probing", op: "verify", trap: true, want: rotation.Stopped, out: rotation.Paused,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		{name: "budget spent", op: "verify", budget: 2, onPrevious: true, want: rotation.BudgetSpent, out: rotation.NeedsOperator,
			seed: func(t *testing.T, st *store.Store) { changedOnce(t, st); seed(t, st, cand, true) }},
		{name: "nothing signs in", op: "verify", budget: 10, site: "Unknown-pass-9", want: rotation.NoneSignsIn, out: rotation.NeedsOperator,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		{name: "candidate live", op: "rotate", site: cand, want: rotation.CandidatePromoted, out: rotation.Succeeded,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		{name: "candidate live, promotion fails", op: "rotate", site: cand, fail: "Promote", want: rotation.CandidateNotPromoted, out: rotation.Failed,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		{name: "current still signs in", op: "verify", want: rotation.CurrentSignsIn, out: rotation.Succeeded,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		// A run cut short after marking its candidate submitted, before
		// the site got it: probing it spent half the budget, so the change
		// is the next run's, and the run is no failure (the scheduler
		// would back off, and three of them flag the account).
		{name: "current still signs in, change deferred", op: "rotate", budget: 2, want: rotation.CurrentSignsIn, out: rotation.Deferred,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, true) }},
		{name: "previous signs in", op: "verify", budget: 3, want: rotation.PreviousRestored, out: rotation.Succeeded,
			seed: func(t *testing.T, st *store.Store) { changedOnce(t, st); seed(t, st, cand, true) }},
		{name: "previous signs in, restore fails", op: "verify", budget: 3, onPrevious: true, fail: "RestorePrevious", want: rotation.PreviousNotRestored, out: rotation.Failed,
			seed: func(t *testing.T, st *store.Store) { changedOnce(t, st); seed(t, st, cand, true) }},
		{name: "late change probed, not there", op: "verify", budget: 3, site: "Unknown-pass-9", want: rotation.PendingFails, out: rotation.Failed,
			seed: func(t *testing.T, st *store.Store) { seed(t, st, cand, false) }},
	}
	reached := map[rotation.Found]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEnv(t, nil)
			e.budget = tt.budget
			st := e.open()
			if tt.seed != nil {
				tt.seed(t, st)
			}
			e.site.mu.Lock()
			if tt.site != "" {
				e.site.password = tt.site
			}
			e.site.challenge = tt.trap
			e.site.mu.Unlock()
			var vault Store = st
			if tt.fail != "" {
				vault = failing{Store: st, method: tt.fail}
			}
			r := e.rotator(vault)
			var res Result
			var err error
			if tt.op == "verify" {
				res, err = r.Verify(context.Background(), "alice")
			} else {
				res, err = r.Rotate(context.Background(), "alice")
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Recovered.Found != tt.want || res.Outcome != tt.out {
				t.Fatalf("found %q (%d), outcome %s (%s); want found %d, outcome %s", res.Recovered, res.Recovered.Found, res.Outcome, res.Reason, tt.want, tt.out)
			}
			if !tt.onPrevious && (tt.site == "" || tt.site == cand) {
				e.checkNoLoss()
			}
			reached[tt.want] = true
		})
	}
	for _, f := range rotation.AllFound() {
		if !reached[f] {
			t.Errorf("no row reaches recovery finding %d (%q)", f, rotation.Finding{Found: f, Label: "x"})
		}
	}
}
