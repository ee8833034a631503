package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// River shares the vault's file: the vault still opens, and jobs are unique
// per account, run once, and never retried by the queue.
func TestQueueOnTheVault(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vault.db")
	key := secret.NewMasterKey()
	st, err := store.Create(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, path); err != nil {
		t.Fatalf("migrate twice: %v", err)
	}
	if st, err = store.Open(ctx, path, key); err != nil {
		t.Fatalf("vault after river's migrations: %v", err)
	}
	defer st.Close()

	var runs atomic.Int32
	var mu sync.Mutex
	perJob := map[int64]int{}
	release := make(chan struct{})
	q, err := Open(path, Handlers{Rotate: func(ctx context.Context, j Job) error {
		runs.Add(1)
		mu.Lock()
		perJob[j.ID]++
		mu.Unlock()
		<-release
		return context.DeadlineExceeded // an error: must not be retried
	}}, Options{MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	added, err := q.Enqueue(ctx, "alice", time.Time{})
	if err != nil || !added {
		t.Fatalf("enqueue: %v %v", added, err)
	}
	if again, err := q.Enqueue(ctx, "alice", time.Time{}); err != nil || again {
		t.Errorf("a second job for the same account was added (%v)", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if runs.Load() == 0 {
		t.Fatal("the job did not start in 10 s")
	}
	if again, err := q.Enqueue(ctx, "alice", time.Time{}); err != nil || again {
		t.Errorf("a job was added while one runs (%v)", err)
	}
	close(release)
	// Once finished (failed, not retried: a retry would keep the job
	// unique), the account can be enqueued again.
	added = false
	for deadline := time.Now().Add(10 * time.Second); !added && time.Now().Before(deadline); {
		if added, err = q.Enqueue(ctx, "alice", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if !added {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !added {
		t.Error("no new job after the first finished")
	}
	mu.Lock()
	for job, n := range perJob {
		if n != 1 {
			t.Errorf("job %d ran %d times: a failed job must not be retried", job, n)
		}
	}
	mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := q.Stop(sctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	// The vault is still fine.
	if err := st.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: "x", Template: "t", Username: "u"}, Password: secret.New("p")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Account(ctx, "x"); err != nil {
		t.Error(err)
	}
}

// A webhook delivery is a job in the vault file: one that failed is
// retried, by the next process when this one stops, until delivered; and
// one whose attempts are spent is given up.
func TestNotifySurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := migratedVault(t)
	noop := func(context.Context, Job) error { return nil }
	failed := make(chan struct{}, 10)
	q1, err := Open(path, Handlers{Rotate: noop, Notify: func(context.Context, []byte) error {
		failed <- struct{}{}
		return errors.New("endpoint down")
	}}, Options{NotifyWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q1.Notify(ctx, []byte(`{"event":"rotation.failed"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery was never attempted")
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := q1.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	// The next process: the failed delivery waits for its retry (an hour
	// here), so make it due now, as time passing would.
	db, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE river_job SET scheduled_at = datetime('now', '-1 second') WHERE kind = 'notify'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	got := make(chan string, 1)
	q2, err := Open(path, Handlers{Rotate: noop, Notify: func(_ context.Context, body []byte) error {
		got <- string(body)
		return nil
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(context.Background())
	select {
	case b := <-got:
		if b != `{"event":"rotation.failed"}` {
			t.Errorf("delivered %s", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery was lost with the process that failed it")
	}
}

// A delivery that keeps failing is attempted NotifyAttempts times, then
// given up (never retried forever).
func TestNotifyGivesUp(t *testing.T) {
	ctx := context.Background()
	path := migratedVault(t)
	var attempts atomic.Int32
	q, err := Open(path, Handlers{Rotate: func(context.Context, Job) error { return nil }, Notify: func(context.Context, []byte) error {
		attempts.Add(1)
		return errors.New("endpoint down")
	}}, Options{NotifyAttempts: 3, NotifyWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	if err := q.Notify(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	state := ""
	for deadline := time.Now().Add(60 * time.Second); state != "discarded" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if err := q.db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'notify'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
	}
	if state != "discarded" || attempts.Load() != 3 {
		t.Fatalf("after %d attempts the delivery is %q; want 3 attempts, then discarded", attempts.Load(), state)
	}
}

// migratedVault is a new vault file with River's tables.
func migratedVault(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vault.db")
	st, err := store.Create(ctx, path, secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	return path
}
