package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

// TestHelperHoldLease is not a test: TestDeadHoldersLeaseTakenOverAtOnce
// runs the test binary as a child that takes a lease for an hour and waits
// to be killed.
func TestHelperHoldLease(t *testing.T) {
	path := os.Getenv("ROTATOR_HELPER_VAULT")
	if path == "" {
		t.Skip("helper process only")
	}
	key, err := secret.LoadKeyFile(os.Getenv("ROTATOR_HELPER_KEY"))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	s, err := Open(context.Background(), path, key)
	if err == nil {
		_, err = s.LockAccount(context.Background(), "alice", "dying-run", time.Hour)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("leased")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// A lease whose holder is alive holds until it expires, whatever its PID
// looks like; a lease whose holder process was SIGKILLed is taken over at
// once, and the dead holder's late writes are fenced off.
func TestDeadHoldersLeaseTakenOverAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		keyFile, path := filepath.Join(dir, "master.key"), location(t)
		key, err := secret.CreateKeyFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Create(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}

		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLease$")
		cmd.Env = append(os.Environ(), "ROTATOR_HELPER_VAULT="+path, "ROTATOR_HELPER_KEY="+keyFile)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && sc.Text() != "leased" {
			if strings.HasPrefix(sc.Text(), "error") {
				t.Fatal(sc.Text())
			}
		}
		if _, err := s.LockAccount(ctx, "alice", "run-2", time.Minute); !errors.Is(err, ErrLocked) {
			t.Fatalf("the lease of a live holder was taken over: %v", err)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		killed := time.Now()
		l, err := s.LockAccount(ctx, "alice", "run-2", time.Minute)
		// On PostgreSQL a holder is dead once its lock is free and its
		// heartbeat stale too (pgholder.go): within holderStale.
		for onPostgres(t) && errors.Is(err, ErrLocked) && time.Since(killed) < holderStale+2*holderBeat {
			time.Sleep(200 * time.Millisecond)
			l, err = s.LockAccount(ctx, "alice", "run-2", time.Minute)
		}
		if err != nil {
			t.Fatalf("the lease of a killed holder was not taken over (after %v): %v", time.Since(killed), err)
		}
		t.Logf("taken over %v after the kill", time.Since(killed).Round(10*time.Millisecond))
		if l.Token < 2 {
			t.Errorf("fencing token %d after a take-over", l.Token)
		}
	})
}

// Within one process, two stores are two holders: one's lease is not the
// other's, and a holder that goes away without a clean close (its lock let
// go, its file left) is known dead.
func TestHolderLockFile(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, path, key := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		l1, err := s.LockAccount(ctx, "alice", "run-1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.LockAccount(ctx, "alice", "run-2", time.Hour); !errors.Is(err, ErrLocked) {
			t.Fatalf("taken from a live holder: %v", err)
		}
		killHolder(s) // what the kernel or the server does when the process dies
		l2, err := s2.LockAccount(ctx, "alice", "run-2", time.Hour)
		if err != nil {
			t.Fatalf("not taken from a dead holder: %v", err)
		}
		if err := s.UnlockAccount(ctx, l1); err != nil {
			t.Fatal(err)
		}
		if err := s2.RenewLock(ctx, l2, time.Hour); err != nil {
			t.Fatalf("the dead holder's unlock removed the new lease: %v", err)
		}
	})
}

// A run that lost its lease cannot overwrite the browser state the run that
// took over saved, and an account a live run holds cannot be removed.
func TestLeaseFencesStateAndRemoval(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now()
		s, _, _ := newVault(t)
		s.now = func() time.Time { return now }
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		l1, err := s.LockAccount(ctx, "alice", "run-1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAccount(ctx, "alice"); !errors.Is(err, ErrLocked) {
			t.Fatalf("an account a live run holds was removed: %v", err)
		}
		now = now.Add(2 * time.Minute)
		l2, err := s.LockAccount(ctx, "alice", "run-2", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetCookies(WithLease(ctx, l2), "alice", []byte("trusted by an operator")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCookies(WithLease(ctx, l1), "alice", []byte("stale")); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("a run that lost its lease saved its browser state: %v", err)
		}
		if got, _ := s.Cookies(ctx, "alice"); string(got) != "trusted by an operator" {
			t.Errorf("browser state %q", got)
		}
		if err := s.UnlockAccount(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAccount(ctx, "alice"); err != nil {
			t.Fatalf("remove after the run: %v", err)
		}
	})
}
