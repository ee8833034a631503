package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// River shares the vault's database, file or PostgreSQL: the vault still
// opens, and jobs are unique per account, run once, and never retried by
// the queue.
func TestQueueOnTheVault(t *testing.T) { pgtest.Each(t, testQueueOnTheVault) }

func testQueueOnTheVault(t *testing.T) {
	ctx := context.Background()
	path := pgtest.Location(t)
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
	c, err := openConn(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.exec(ctx, `UPDATE river_job SET scheduled_at = datetime('now', '-1 second') WHERE kind = 'notify'`); err != nil {
		t.Fatal(err)
	}
	c.close()
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
		if err := q.conn.lite.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'notify'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
	}
	if state != "discarded" || attempts.Load() != 3 {
		t.Fatalf("after %d attempts the delivery is %q; want 3 attempts, then discarded", attempts.Load(), state)
	}
}

// Two workers share one vault: a job the first took is its own while it
// lives, whatever the second sees; once its lease holder is gone (its
// process died), the second releases the job, which runs again.
func TestReleaseOrphanedOnlyDeadWorkers(t *testing.T) { pgtest.Each(t, testReleaseOrphaned) }

func testReleaseOrphaned(t *testing.T) {
	ctx := context.Background()
	path, key := pgtest.Location(t), secret.NewMasterKey()
	worker := func() (*store.Store, string) {
		st, err := store.Open(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		id, err := st.HolderID()
		if err != nil {
			t.Fatal(err)
		}
		return st, id
	}
	migrateAt(t, path, key)
	s1, id1 := worker()
	s2, id2 := worker()
	taken, runs := make(chan struct{}, 4), atomic.Int32{}
	q1, err := Open(path, Handlers{Rotate: func(ctx context.Context, j Job) error {
		runs.Add(1)
		taken <- struct{}{}
		<-ctx.Done() // the worker hangs, then dies
		return ctx.Err()
	}}, Options{ID: id1, MaxWorkers: 1}) // it takes nothing more
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		q1.Stop(sctx) // cancels the hung job
	})
	if _, err := q1.Enqueue(ctx, "alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-taken:
	case <-time.After(20 * time.Second):
		t.Fatal("the job was never taken")
	}
	var mu sync.Mutex
	var order []string
	q2, err := Open(path, Handlers{Rotate: func(_ context.Context, j Job) error {
		mu.Lock()
		order = append(order, j.Account)
		mu.Unlock()
		runs.Add(1)
		return nil
	}}, Options{ID: id2, MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(ctx)
	// A run queued after the interrupted one: the released job goes
	// ahead of it, not to the back of the queue.
	if _, err := q2.Enqueue(ctx, "bob", time.Time{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := q2.ReleaseOrphaned(ctx, s2.HolderDead); err != nil || n != 0 {
		t.Fatalf("released %d jobs of a live worker (%v)", n, err)
	}
	s1.Close() // what the death of the first worker's process does to its holder
	if n, err := q2.ReleaseOrphaned(ctx, s2.HolderDead); err != nil || n != 1 {
		t.Fatalf("released %d jobs of a dead worker, want 1 (%v)", n, err)
	}
	if err := q2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); runs.Load() < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the released job did not run again")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "alice" {
		t.Errorf("runs after the release: %v, want the released alice first", order)
	}
}

// migratedVault is a new vault file with River's tables.
func migratedVault(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.db")
	migrateAt(t, path, secret.NewMasterKey())
	return path
}

// migrateAt makes a vault at path under key, with River's tables.
func migrateAt(t *testing.T, path string, key secret.MasterKey) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Create(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
}

// Workers that start at once on a new PostgreSQL database all start: River's
// migrations run one worker at a time.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- Migrate(ctx, url) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("a worker's migrations: %v", err)
		}
	}
}

// The webhook deliveries waiting in a vault file's queue go over to
// PostgreSQL's with rotator migrate, and are delivered from there.
func TestCopyDeliveries(t *testing.T) {
	ctx := context.Background()
	path := migratedVault(t)
	noop := func(context.Context, Job) error { return nil }
	idle := Handlers{Rotate: noop, Notify: func(context.Context, []byte) error { return errors.New("not now") }}
	q, err := Open(path, idle, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{`{"n":1}`, `{"n":2}`} {
		if err := q.Notify(ctx, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	q.Stop(ctx)
	url := pgtest.URL(t)
	if err := Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	n, err := CopyDeliveries(ctx, path, url)
	if err != nil || n != 2 {
		t.Fatalf("copied %d: %v", n, err)
	}
	got := make(chan string, 2)
	pq, err := Open(url, Handlers{Rotate: noop, Notify: func(_ context.Context, body []byte) error {
		got <- string(body)
		return nil
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer pq.Stop(ctx)
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case b := <-got:
			seen[b] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("delivered from PostgreSQL: %v", seen)
		}
	}
}
