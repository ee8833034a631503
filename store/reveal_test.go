package store

import (
	"context"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// TestReveal: the audit log records who was shown the secrets before they
// are returned, and a closed vault shows nothing.
func TestReveal(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		r, err := s.Reveal(ctx, "alice", "cli:ann", "shown by a test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Password.Reveal() != "correct horse alice" || !r.Pending.IsZero() || len(r.Candidates) != 0 {
			t.Errorf("without a pending password: password right %v, pending set %v, %d candidates",
				r.Password.Reveal() == "correct horse alice", !r.Pending.IsZero(), len(r.Candidates))
		}
		if err := s.SetPending(ctx, "alice", secret.New("Next-pass-1")); err != nil {
			t.Fatal(err)
		}
		if r, err = s.Reveal(ctx, "alice", "cli:bob", "again"); err != nil {
			t.Fatal(err)
		}
		if r.Pending.Reveal() != "Next-pass-1" || len(r.Candidates) != 1 || r.Candidates[0].State != CandidateSubmitted {
			t.Errorf("with a pending password: pending right %v, %d candidates", r.Pending.Reveal() == "Next-pass-1", len(r.Candidates))
		}
		log, err := s.AuditLog(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var reveals []AuditEvent
		for _, e := range log {
			if e.Action == "account.reveal" {
				reveals = append(reveals, e)
			}
		}
		if len(reveals) != 2 || reveals[0].Actor != "cli:ann" || reveals[0].Detail != "shown by a test" || reveals[1].Actor != "cli:bob" {
			t.Errorf("audit entries: %+v", reveals)
		}
		if _, err := s.Reveal(ctx, "nobody", "cli:ann", "x"); err == nil {
			t.Error("an unknown account was revealed")
		}
		s.Close()
		if r, err := s.Reveal(ctx, "alice", "cli:ann", "x"); err == nil || !r.Password.IsZero() {
			t.Errorf("a closed vault revealed %v", err)
		}
	})
}

func TestTOTPDefaults(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		acct := testAccount("carol").Account
		if got := acct.TOTP.MinValidityOr(time.Minute); got != 7*time.Second {
			t.Errorf("own minimum validity: %v", got)
		}
		acct.TOTP.MinValidity = 0
		if got := acct.TOTP.MinValidityOr(time.Minute); got != time.Minute {
			t.Errorf("default minimum validity: %v", got)
		}
		k, ok := acct.TOTPKey()
		if !ok || k.Label != "carol@example.test" {
			t.Errorf("label %q, %v", k.Label, ok)
		}
		acct.TOTP.Key.Label = "Carol at work"
		if k, _ := acct.TOTPKey(); k.Label != "Carol at work" {
			t.Errorf("own label replaced: %q", k.Label)
		}
		acct.TOTP = nil
		if _, ok := acct.TOTPKey(); ok {
			t.Error("TOTPKey without TOTP")
		}
	})
}

func TestCandidateStateDescribe(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		seen := map[string]bool{}
		for _, st := range []CandidateState{CandidatePending, CandidateSubmitted, CandidateRefused} {
			d := st.Describe()
			if d == "" || seen[d] {
				t.Errorf("%s: %q", st, d)
			}
			seen[d] = true
		}
	})
}
