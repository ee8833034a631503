package schedule

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// A running scheduler sees accounts added, removed, cleared and reset by
// other processes.
func TestSync(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "v.db"), secret.NewMasterKey(), store.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	add := func(name string) {
		t.Helper()
		if err := st.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: name, Template: "t", Username: "u", Schedule: "@every 1h"}, Password: secret.New("p")}); err != nil {
			t.Fatal(err)
		}
	}
	add("a")
	sc := &Scheduler{Store: st, Now: clock}
	if err := sc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	add("b")
	if err := st.Flag(ctx, "a", store.StateNeedsOperator, "x"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Entry("b"); !ok {
		t.Fatal("new account not scheduled")
	}
	now = now.Add(61 * time.Minute)
	due, _ := sc.Due(ctx)
	if len(due) != 1 || due[0].Name != "b" {
		t.Fatalf("due %v (a waits for an operator)", due)
	}
	if _, err := sc.Done(ctx, "b", rotation.Succeeded); err != nil {
		t.Fatal(err)
	}
	// An operator clears a; b is removed.
	if err := st.Flag(ctx, "a", store.StateActive, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.ResetSchedule(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAccount(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Entry("b"); ok {
		t.Error("removed account still scheduled")
	}
	now = now.Add(61 * time.Minute)
	due, _ = sc.Due(ctx)
	if len(due) != 1 || due[0].Name != "a" {
		t.Errorf("due %v after clearing a", due)
	}
}

// A busy account (its lease held by another run or an operator's session)
// is tried again in BusyRetry and does not count as a failure.
func TestBusyIsNotAFailure(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "v.db"), secret.NewMasterKey(), store.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: "a", Template: "t", Username: "u", Schedule: "@daily"}, Password: secret.New("p")}); err != nil {
		t.Fatal(err)
	}
	sc := &Scheduler{Store: st, Now: clock, MaxFailures: 1}
	if err := sc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// A deferred run (it recovered what a killed run left, and left the
	// change to the next) is no failure either: three kills in a row must
	// not flag a sound account.
	for _, o := range []rotation.Outcome{rotation.Busy, rotation.Deferred} {
		for i := 0; i < 3; i++ {
			if _, err := sc.Done(ctx, "a", o); err != nil {
				t.Fatal(err)
			}
		}
		e, _ := sc.Entry("a")
		if e.Failures != 0 || e.State != store.StateActive || !e.NextDue.Equal(now.Add(BusyRetry)) {
			t.Fatalf("after %s: %+v", o, e)
		}
	}
}

// Two workers' schedulers on one vault: one queues an account, the other
// runs it and reschedules it. The first follows the vault's due time and
// queues the account again when it is due; it used to keep it as "running"
// for good, and never queued it again.
func TestSchedulerFollowsAnotherWorkersRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "v.db"), secret.NewMasterKey(), store.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: "a", Template: "t", Username: "u", Schedule: "@every 1h"}, Password: secret.New("p")}); err != nil {
		t.Fatal(err)
	}
	a := &Scheduler{Store: st, Now: clock}
	b := &Scheduler{Store: st, Now: clock}
	for _, sc := range []*Scheduler{a, b} {
		if err := sc.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Hour)
	if due, err := a.Due(ctx); err != nil || len(due) != 1 {
		t.Fatalf("a queues: %v %v", due, err)
	}
	if due, err := b.Due(ctx); err != nil || len(due) != 1 {
		t.Fatalf("b: %v %v", due, err) // its own copy of the schedule; the queue keeps one job
	}
	if _, err := b.Done(ctx, "a", rotation.Succeeded); err != nil { // b ran it
		t.Fatal(err)
	}
	// and b dies: only a is left to queue it
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if due, err := a.Due(ctx); err != nil || len(due) != 1 {
		t.Fatalf("the run another worker did left the account unscheduled here: %v %v", due, err)
	}
}
