package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestChangeLimit: the limit is stored (an override only above the cap),
// the next due time is forgotten, and each change is audited under its
// action.
func TestChangeLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetNextDue(ctx, "alice", time.Now().Add(time.Hour), 0, "cap: held"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			max      int
			want     Limit
			action   string
			override bool
		}{
			{1, Limit{Max: 1}, "account.limit", false},
			{6, Limit{Max: 6, Override: true}, "account.limit.override", true},
			{0, Limit{}, "account.limit", false},
		} {
			if err := s.ChangeLimit(ctx, "alice", tt.max, 2, "cli:ann"); err != nil {
				t.Fatal(err)
			}
			if l, err := s.GetLimit(ctx, "alice"); err != nil || l != tt.want {
				t.Errorf("max %d: limit %+v, %v", tt.max, l, err)
			}
			log, err := s.AuditLog(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if last := log[len(log)-1]; last.Action != tt.action || last.Actor != "cli:ann" || last.Outcome != "succeeded" {
				t.Errorf("max %d: audit %+v", tt.max, last)
			}
		}
		entries, err := s.ScheduleEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e := entries[0]; !e.NextDue.IsZero() || e.Hold != "" {
			t.Errorf("next due %v, hold %q: not reset", e.NextDue, e.Hold)
		}
		if err := s.ChangeLimit(ctx, "nobody", 1, 2, "cli:ann"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}
	})
}

func TestRemoveAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("bob")); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveAccount(ctx, "bob", "cli:ann"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Account(ctx, "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("still there: %v", err)
		}
		log, err := s.AuditLog(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if last := log[len(log)-1]; last.Action != "account.remove" || last.Actor != "cli:ann" {
			t.Errorf("audit %+v", last)
		}
		if err := s.RemoveAccount(ctx, "bob", "cli:ann"); !errors.Is(err, ErrNotFound) {
			t.Errorf("removed twice: %v", err)
		}
	})
}

func TestRunTook(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if got := (Run{StartedAt: start}).Took(); got != 0 {
			t.Errorf("unfinished: %v", got)
		}
		if got := (Run{StartedAt: start, FinishedAt: start.Add(1500 * time.Millisecond)}).Took(); got != 1500*time.Millisecond {
			t.Errorf("finished: %v", got)
		}
	})
}
