package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

func candidateStates(t *testing.T, s *Store, name string) map[string]CandidateState {
	t.Helper()
	cands, err := s.Candidates(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]CandidateState{}
	for _, c := range cands {
		out[c.Password.Reveal()] = c.State
	}
	return out
}

// Every candidate is kept, through refusals, until a promotion proves which
// one the site has; a refused one is never stored (so never submitted)
// again.
func TestCandidatesKeptUntilProven(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}

		seq1, err := s.AddCandidate(ctx, "alice", secret.New("cand-1"))
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.AddCandidate(ctx, "alice", secret.New("cand-1")); err != nil || again != seq1 {
			t.Errorf("the same candidate again: %d %v", again, err)
		}
		if _, err := s.AddCandidate(ctx, "alice", secret.New("cand-x")); !errors.Is(err, ErrPendingExists) {
			t.Errorf("a second live candidate: %v", err)
		}
		if p, err := s.Pending(ctx, "alice"); err != nil || p.Reveal() != "cand-1" {
			t.Fatalf("pending %v", err)
		}
		if err := s.MarkCandidate(ctx, "alice", seq1, CandidateSubmitted); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkCandidate(ctx, "alice", seq1, CandidateRefused); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pending(ctx, "alice"); !errors.Is(err, ErrNoPending) {
			t.Errorf("a refused candidate is still pending: %v", err)
		}
		if err := s.MarkCandidate(ctx, "alice", seq1, CandidateSubmitted); !errors.Is(err, ErrCandidateRefused) {
			t.Errorf("a refused candidate left refused: %v", err)
		}
		if _, err := s.AddCandidate(ctx, "alice", secret.New("cand-1")); !errors.Is(err, ErrCandidateRefused) {
			t.Errorf("a refused candidate stored again: %v", err)
		}
		seq2, err := s.AddCandidate(ctx, "alice", secret.New("cand-2"))
		if err != nil || seq2 <= seq1 {
			t.Fatalf("second candidate %d %v", seq2, err)
		}
		got := candidateStates(t, s, "alice")
		if len(got) != 2 || got["cand-1"] != CandidateRefused || got["cand-2"] != CandidatePending {
			t.Fatalf("candidates %v", got)
		}

		// Promote is a compare-and-set on the verified value.
		if err := s.Promote(ctx, "alice", secret.New("never-stored"), "rotation"); !errors.Is(err, ErrNotCandidate) {
			t.Errorf("promoted a value that is no candidate: %v", err)
		}
		if pw, _ := s.Password(ctx, "alice"); pw.Reveal() != "correct horse alice" {
			t.Error("a refused promote changed current")
		}
		// The page that refused cand-1 lied: it signs in, and is promoted.
		if err := s.Promote(ctx, "alice", secret.New("cand-1"), "rotation"); err != nil {
			t.Fatal(err)
		}
		if pw, _ := s.Password(ctx, "alice"); pw.Reveal() != "cand-1" {
			t.Error("current is not the promoted candidate")
		}
		if got := candidateStates(t, s, "alice"); len(got) != 0 {
			t.Errorf("candidates left after promotion: %v", got)
		}
		if _, err := s.Pending(ctx, "alice"); !errors.Is(err, ErrNoPending) {
			t.Errorf("pending after promotion: %v", err)
		}
	})
}

// When current signs in after candidates were submitted, the refused ones
// go and the live one stays, as not set, for the next rotation.
func TestResolveCandidates(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		addCandidate(t, s, "alice", "cand-1", CandidateRefused)
		addCandidate(t, s, "alice", "cand-2", CandidateSubmitted)
		if err := s.ResolveCandidates(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := candidateStates(t, s, "alice"); len(got) != 1 || got["cand-2"] != CandidatePending {
			t.Errorf("candidates %v", got)
		}
		if p, err := s.Pending(ctx, "alice"); err != nil || p.Reveal() != "cand-2" {
			t.Errorf("pending %v", err)
		}
	})
}

// A candidate's ciphertext is bound to its account and number.
func TestCandidateBoundToRow(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		seq1 := addCandidate(t, s, "alice", "cand-1", CandidateRefused)
		seq2, err := s.AddCandidate(ctx, "alice", secret.New("cand-2"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`UPDATE candidates SET password = (SELECT password FROM candidates WHERE seq = ?) WHERE seq = ?`, seq1, seq2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Candidates(ctx, "alice"); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("candidate 1's ciphertext opened as candidate 2: %v", err)
		}
	})
}

// A lease is taken over only when it expired, whatever its holder's PID
// looks like; the run that lost it can neither write nor release the
// winner's lease.
func TestLeaseFencing(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now()
		s, path, key := newVault(t)
		s.now = func() time.Time { return now }
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(ctx, path, key, WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()

		l1, err := s.LockAccount(ctx, "alice", "run-1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// Its holder's PID does not exist here (another PID namespace, or
		// another machine with this host name): the lease still holds.
		if _, err := s.db.Exec(`UPDATE account_locks SET pid = 999999999, host = ? WHERE account = 'alice'`, hostname()); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.LockAccount(ctx, "alice", "run-2", time.Minute); !errors.Is(err, ErrLocked) {
			t.Fatalf("an unexpired lease was taken over: %v", err)
		}
		loser := WithLease(ctx, l1)
		if _, err := s.AddCandidate(loser, "alice", secret.New("cand-1")); err != nil {
			t.Fatalf("the holder cannot write: %v", err)
		}

		now = now.Add(2 * time.Minute)
		l2, err := s2.LockAccount(ctx, "alice", "run-2", time.Minute)
		if err != nil {
			t.Fatalf("an expired lease was not taken over: %v", err)
		}
		winner := WithLease(ctx, l2)
		for what, write := range map[string]func() error{
			"add a candidate": func() error { _, err := s.AddCandidate(loser, "alice", secret.New("cand-1")); return err },
			"set pending":     func() error { return s.SetPending(loser, "alice", secret.New("cand-1")) },
			"mark":            func() error { return s.MarkCandidate(loser, "alice", 1, CandidateSubmitted) },
			"resolve":         func() error { return s.ResolveCandidates(loser, "alice") },
			"replace pending": func() error { return s.ReplacePending(loser, "alice", secret.New("cand-1"), secret.New("cand-9")) },
			"promote":         func() error { return s.Promote(loser, "alice", secret.New("cand-1"), "rotation") },
			"restore":         func() error { return s.RestorePrevious(loser, "alice", 1, "recovered") },
			"flag":            func() error { return s.Flag(loser, "alice", StateFailed, "x") },
			"start run":       func() error { _, err := s.StartRun(loser, Run{Account: "alice", Kind: "rotate"}); return err },
			"finish run":      func() error { return s.FinishRun(loser, Run{ID: 1, Account: "alice", Outcome: "failed"}) },
			"renew":           func() error { return s.RenewLock(ctx, l1, time.Minute) },
		} {
			if err := write(); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("%s under a lost lease: %v", what, err)
			}
		}
		if got := candidateStates(t, s, "alice"); len(got) != 1 || got["cand-1"] != CandidatePending {
			t.Errorf("a fenced write changed the candidates: %v", got)
		}
		// The loser's release leaves the winner's lease in place.
		if err := s.UnlockAccount(ctx, l1); err != nil {
			t.Fatal(err)
		}
		if err := s2.RenewLock(ctx, l2, time.Minute); err != nil {
			t.Errorf("the loser released the winner's lease: %v", err)
		}
		if _, err := s.LockAccount(ctx, "alice", "run-3", time.Minute); !errors.Is(err, ErrLocked) {
			t.Errorf("a third run took the winner's lease: %v", err)
		}
		if err := s2.Promote(winner, "alice", secret.New("cand-1"), "rotation"); err != nil {
			t.Errorf("the winner cannot write: %v", err)
		}
		if err := s2.Flag(WithLease(ctx, l2), "bob", StateFailed, "x"); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("a lease on alice wrote to bob: %v", err)
		}
		if err := s2.UnlockAccount(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LockAccount(ctx, "alice", "run-3", time.Minute); err != nil {
			t.Errorf("released lease: %v", err)
		}
	})
}

// A pending password stored by an older rotator (no candidate row) is a
// submitted candidate: recovery probes it, and it can be numbered and
// promoted.
func TestLegacyPendingIsACandidate(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPending(ctx, "alice", secret.New("legacy")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`DELETE FROM candidates`); err != nil {
			t.Fatal(err)
		}
		cands, err := s.Candidates(ctx, "alice")
		if err != nil || len(cands) != 1 || cands[0].Seq != 0 || !cands[0].Live || cands[0].State != CandidateSubmitted {
			t.Fatalf("candidates %+v %v", cands, err)
		}
		seq, err := s.AddCandidate(ctx, "alice", secret.New("legacy"))
		if err != nil || seq == 0 {
			t.Fatalf("numbering the legacy pending password: %d %v", seq, err)
		}
		if cands, _ := s.Candidates(ctx, "alice"); len(cands) != 1 || cands[0].Seq != seq || !cands[0].Live {
			t.Errorf("after numbering %+v", cands)
		}
		if err := s.Promote(ctx, "alice", secret.New("legacy"), "rotation"); err != nil {
			t.Fatal(err)
		}
	})
}

// addCandidate stores pw as a candidate of name in the given state.
func addCandidate(t *testing.T, s *Store, name, pw string, state CandidateState) int64 {
	t.Helper()
	ctx := context.Background()
	seq, err := s.AddCandidate(ctx, name, secret.New(pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkCandidate(ctx, name, seq, state); err != nil {
		t.Fatal(err)
	}
	return seq
}

// Workers that race for one account with one change left: the cap is
// decided in the transaction that takes the lease, so exactly one is let
// through, whatever the interleaving, and a refused one takes no lease.
func TestCapDecidedWithTheLease(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		path := location(t)
		key := secret.NewMasterKey()
		s, err := Create(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		errCap := errors.New("at its cap")
		admit := func(ctx context.Context, h History) error {
			cs, err := h.Changes(ctx, "alice", time.Now().Add(-24*time.Hour))
			if err == nil && len(cs) >= 1 {
				return errCap
			}
			return err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted, refused := 0, 0
		for i := range 6 {
			w, err := Open(ctx, path, key)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					l, err := w.LockAccountIf(ctx, "alice", fmt.Sprint("worker", i), time.Minute, admit)
					if errors.Is(err, ErrLocked) {
						time.Sleep(time.Millisecond)
						continue
					}
					mu.Lock()
					defer mu.Unlock()
					if errors.Is(err, errCap) {
						refused++
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					admitted++
					lctx := WithLease(ctx, l)
					pw := secret.New(fmt.Sprint("changed-by-", i))
					if err := w.SetPending(lctx, "alice", pw); err != nil {
						t.Error(err)
					}
					if err := w.Promote(lctx, "alice", pw, "rotation"); err != nil {
						t.Error(err)
					}
					w.UnlockAccount(ctx, l)
					return
				}
			}()
		}
		wg.Wait()
		if admitted != 1 || refused != 5 {
			t.Errorf("%d let through and %d refused, want 1 and 5", admitted, refused)
		}
		if cs, _ := s.Changes(ctx, "alice", time.Now().Add(-time.Hour)); len(cs) != 1 {
			t.Errorf("%d changes recorded", len(cs))
		}
	})
}
