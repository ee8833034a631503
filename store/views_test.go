package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
)

// What the scheduler, the console and the operator read and write, on
// both engines: due times one by one and many at once, flags and their
// clearing, runs, the console's token, and the lease holder's id.
func TestSchedulerAndConsoleViews(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		for _, n := range []string{"alice", "bob"} {
			if err := s.AddAccount(ctx, testAccount(n)); err != nil {
				t.Fatal(err)
			}
		}
		due := time.UnixMilli(time.Now().UnixMilli()).Add(time.Hour)
		if err := s.SetNextDues(ctx, []DueTime{{"alice", due}, {"bob", due.Add(time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetNextDue(ctx, "bob", due, 2, "backoff"); err != nil {
			t.Fatal(err)
		}
		es, err := s.ScheduleEntries(ctx)
		if err != nil || len(es) != 2 || !es[0].NextDue.Equal(due) || es[1].Failures != 2 || es[1].Hold != "backoff" {
			t.Fatalf("schedule %+v %v", es, err)
		}
		if err := s.Flag(ctx, "alice", StatePaused, "captcha"); err != nil {
			t.Fatal(err)
		}
		if fs, err := s.Flags(ctx); err != nil || len(fs) != 1 || fs[0].Account != "alice" || fs[0].Reason != "captcha" {
			t.Fatalf("flags %+v %v", fs, err)
		}
		if was, err := s.ClearFlag(ctx, "alice", "console:op"); err != nil || was.State != StatePaused {
			t.Fatalf("clear %+v %v", was, err)
		}
		if fs, _ := s.Flags(ctx); len(fs) != 0 {
			t.Errorf("flags after clearing: %+v", fs)
		}
		id, err := s.StartRun(ctx, Run{Account: "bob", Kind: rotation.Rotate, Owner: "w1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, Run{ID: id, Account: "bob", Outcome: rotation.Succeeded, Steps: []RunStep{{Flow: "login", Step: "1", OK: true}}}); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Run(ctx, id); err != nil || r.Outcome != rotation.Succeeded || len(r.Steps) != 1 {
			t.Fatalf("run %+v %v", r, err)
		}
		if rs, err := s.Runs(ctx, "bob", 5); err != nil || len(rs) != 1 || rs[0].ID != id {
			t.Fatalf("runs %+v %v", rs, err)
		}
		if err := s.SetConsoleToken(ctx, []byte("hash-of-token"), "cli:test"); err != nil {
			t.Fatal(err)
		}
		if h, err := s.ConsoleToken(ctx); err != nil || !bytes.Equal(h, []byte("hash-of-token")) {
			t.Fatalf("token %q %v", h, err)
		}
		h1, err := s.HolderID()
		if h2, _ := s.HolderID(); err != nil || h1 == "" || h1 != h2 || s.HolderDead(h1) {
			t.Fatalf("holder %q %q %v", h1, h2, err)
		}
	})
}
