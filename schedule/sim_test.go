package schedule

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// TestSimulation runs 100 accounts (10 under -race, 1,000 with
// ROTATOR_SLOW_TESTS=1) with random schedules for 30 simulated days on an injected
// clock, with restarts (a new scheduler, the vault reopened) and random
// failures, and counts every password change from the vault's history:
// never more than 2 in any 24 hours, never 2 closer than the minimum gap.
func TestSimulation(t *testing.T) {
	accounts := 100
	switch {
	case slowTests():
		accounts = 1000
	case raceEnabled:
		accounts = 10
	}
	const (
		days = 30
		tick = 10 * time.Minute
	)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), "vault.db")
	key := secret.NewMasterKey()
	st, err := store.Create(ctx, path, key, store.WithClock(clock), store.WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	specs := []string{"@every 1h", "@every 3h", "@every 5h", "@every 7h", "@every 12h", "@daily", "@hourly",
		"*/20 * * * *", "0 */4 * * *", "30 2 * * *", "CRON_TZ=Asia/Tokyo 0 9 * * *", "15 8,20 * * 1-5", ""}
	r := rand.New(rand.NewPCG(7, 11))
	var batch []store.NewAccount
	for i := range accounts {
		batch = append(batch, store.NewAccount{
			Account:  store.Account{Name: fmt.Sprintf("acct%04d", i), Template: "demo-social", Username: "u", Schedule: specs[r.IntN(len(specs))]},
			Password: secret.New("initial"),
		})
	}
	if err := st.ImportAccounts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	policy := Policy{MaxChanges: 2, MinGap: 6 * time.Hour}
	newScheduler := func(s *store.Store) *Scheduler {
		sc := &Scheduler{Store: s, Policy: policy, DefaultSpec: "@every 2h", Jitter: 10 * time.Minute,
			Backoff: Backoff{Base: 20 * time.Minute, Max: 4 * time.Hour}, MaxFailures: 3, Now: clock}
		if err := sc.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	sc := newScheduler(st)
	runs, changes, failures, restarts := 0, 0, 0, 0
	nextRestart := start.Add(time.Duration(60+r.IntN(120)) * time.Hour)
	for now.Before(start.Add(days * 24 * time.Hour)) {
		due, err := sc.Due(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			name := d.Name
			runs++
			outcome := rotation.Succeeded
			if r.IntN(10) == 0 {
				outcome = rotation.Failed
				failures++
			} else {
				// The rotation: a real pending password, promoted in one
				// transaction, as the rotator does.
				pw := secret.New(fmt.Sprintf("pw-%d", runs))
				if err := st.SetPending(ctx, name, pw); err != nil {
					t.Fatal(err)
				}
				if err := st.Promote(ctx, name, pw, "rotation"); err != nil {
					t.Fatal(err)
				}
				changes++
			}
			if _, err := sc.Done(ctx, name, outcome); err != nil {
				t.Fatal(err)
			}
		}
		// Operators clear accounts that failed three times in a row.
		if now.Minute() == 0 && now.Hour()%6 == 0 {
			flags, err := st.Flags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range flags {
				if err := st.Flag(ctx, f.Account, store.StateActive, ""); err != nil {
					t.Fatal(err)
				}
				if err := st.ResetSchedule(ctx, f.Account); err != nil {
					t.Fatal(err)
				}
			}
			if len(flags) > 0 {
				if err := sc.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if now.After(nextRestart) {
			// A restart: the scheduler's memory is gone, the vault reopened;
			// the daemon was down for a while, so runs were missed.
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Duration(r.IntN(180)) * time.Minute)
			if st, err = store.Open(ctx, path, key, store.WithClock(clock), store.WithoutSync()); err != nil {
				t.Fatal(err)
			}
			sc = newScheduler(st)
			restarts++
			nextRestart = now.Add(time.Duration(60+r.IntN(120)) * time.Hour)
		}
		now = now.Add(tick)
	}
	defer st.Close()

	// Count from the stored history.
	total := 0
	for i := range accounts {
		name := fmt.Sprintf("acct%04d", i)
		cs, err := st.Changes(ctx, name, start.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(cs, func(a, b int) bool { return cs[a].Before(cs[b]) })
		total += len(cs)
		for j := range cs {
			if j > 0 && cs[j].Sub(cs[j-1]) < policy.MinGap {
				t.Fatalf("%s: changes %v apart at %v", name, cs[j].Sub(cs[j-1]), cs[j])
			}
			if j >= 2 && cs[j].Sub(cs[j-2]) < 24*time.Hour {
				t.Fatalf("%s: 3 changes within %v ending %v", name, cs[j].Sub(cs[j-2]), cs[j])
			}
		}
	}
	if total != changes || total < accounts*days {
		t.Errorf("history holds %d changes, the simulation made %d", total, changes)
	}
	t.Logf("%d accounts, %d days, %d restarts: %d runs, %d changes (%.2f per account-day), %d failures",
		accounts, days, restarts, runs, changes, float64(changes)/float64(accounts)/days, failures)
}
