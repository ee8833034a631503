package jobs

import (
	"context"
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
	q, err := Open(path, func(ctx context.Context, account string, job int64) error {
		runs.Add(1)
		mu.Lock()
		perJob[job]++
		mu.Unlock()
		<-release
		return context.DeadlineExceeded // an error: must not be retried
	}, Options{MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	added, err := q.Enqueue(ctx, "alice")
	if err != nil || !added {
		t.Fatalf("enqueue: %v %v", added, err)
	}
	if again, err := q.Enqueue(ctx, "alice"); err != nil || again {
		t.Errorf("a second job for the same account was added (%v)", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if runs.Load() == 0 {
		t.Fatal("the job did not start in 10 s")
	}
	if again, err := q.Enqueue(ctx, "alice"); err != nil || again {
		t.Errorf("a job was added while one runs (%v)", err)
	}
	close(release)
	// Once finished (failed, not retried: a retry would keep the job
	// unique), the account can be enqueued again.
	added = false
	for deadline := time.Now().Add(10 * time.Second); !added && time.Now().Before(deadline); {
		if added, err = q.Enqueue(ctx, "alice"); err != nil {
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
