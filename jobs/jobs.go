// Package jobs is rotator's job queue: River (github.com/riverqueue/river)
// with its SQLite driver, on the vault's own database file. The rest of the
// product sees only [Queue]: enqueue an account, run a function per job.
//
// # Guarantees
//
//   - One job per account at a time: jobs are unique by account while
//     available, scheduled or running.
//   - No blind retries: MaxAttempts is 1. A failed rotation is rescheduled
//     by the product's own backoff (package schedule), not by the queue.
//   - Webhook deliveries are jobs too, on a queue of their own (a rotation
//     waiting for an operator never holds one up): retried with a doubling
//     wait until delivered or Options.NotifyAttempts are spent, and kept
//     across a restart.
//   - River's migrations run only from [Migrate] (rotator init, and serve
//     before it starts workers), never from every worker.
//   - A job left running by a serve that died is run again as soon as the
//     next serve starts ([ReleaseOrphaned], under the data folder's lock),
//     not after River's rescuer.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// RotateArgs is a rotation job. Due is when the scheduler found it due
// (not part of its uniqueness).
type RotateArgs struct {
	Account string    `json:"account" river:"unique"`
	Due     time.Time `json:"due,omitzero"`
}

// Kind implements river.JobArgs.
func (RotateArgs) Kind() string { return "rotate" }

// NotifyArgs is a webhook delivery: the event's JSON body (which never
// holds a secret), posted until it is delivered or its attempts are spent.
// As a job in the vault file, a delivery survives a restart.
type NotifyArgs struct {
	Body json.RawMessage `json:"body"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return "notify" }

func openDB(path string) (*sql.DB, error) {
	u := url.URL{Path: path}
	db, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=rw&_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("open job queue: %w", err)
	}
	// River's SQLite driver wants one connection (SQLite writes one at a
	// time).
	db.SetMaxOpenConns(1)
	return db, nil
}

// Migrate creates or upgrades River's tables in the vault file.
func Migrate(ctx context.Context, vaultPath string) error {
	db, err := openDB(vaultPath)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// ReleaseOrphaned makes every job left "running" available again, to be
// picked up at once, and returns how many there were. Call it only while
// holding the data folder's serve lock (daemon.LockDataDir), before Start:
// with one serve per vault, such a job belongs to a process that died (a
// SIGKILL mid-rotation), and River's own rescuer would leave it running,
// and the account's unique jobs skipped, for RescueStuckJobsAfter. Running
// it again is safe: a rotation recovers an unfinished one first.
//
// This is River's JobRetry (riversqlite's river_job.sql), which leaves
// running jobs alone, done on running ones: the attempt budget grows by
// one when it is spent, so the job runs once more.
func ReleaseOrphaned(ctx context.Context, vaultPath string) (int, error) {
	db, err := openDB(vaultPath)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, `UPDATE river_job SET
	state = 'available',
	max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END,
	finalized_at = NULL,
	scheduled_at = datetime('now', 'subsec')
WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("release jobs of a dead process: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("release jobs of a dead process: %w", err)
	}
	return int(n), nil
}

// Job is one rotation job: its id, the account and when it was due.
type Job struct {
	ID      int64
	Account string
	Due     time.Time
}

// Work runs one rotation job. Its error is logged, never retried.
type Work func(ctx context.Context, j Job) error

// Deliver makes one attempt at a webhook delivery; an error is retried
// with backoff until the attempts are spent.
type Deliver func(ctx context.Context, body []byte) error

// Handlers are what the queue's jobs run.
type Handlers struct {
	Rotate Work
	// Notify may be nil when nothing is ever sent.
	Notify Deliver
}

// Queue is the product's view of River.
type Queue struct {
	db     *sql.DB
	client *river.Client[*sql.Tx]
	opts   Options
}

type rotateWorker struct {
	river.WorkerDefaults[RotateArgs]
	work Work
	// timeout bounds one job; River cancels its context after it.
	timeout time.Duration
}

func (w *rotateWorker) Work(ctx context.Context, j *river.Job[RotateArgs]) error {
	return w.work(ctx, Job{ID: j.ID, Account: j.Args.Account, Due: j.Args.Due})
}

func (w *rotateWorker) Timeout(*river.Job[RotateArgs]) time.Duration { return w.timeout }

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	deliver Deliver
	wait    time.Duration
}

func (w *notifyWorker) Work(ctx context.Context, j *river.Job[NotifyArgs]) error {
	return w.deliver(ctx, j.Args.Body)
}

// NextRetry waits Options.NotifyWait after the first failed attempt,
// doubling after each.
func (w *notifyWorker) NextRetry(j *river.Job[NotifyArgs]) time.Time {
	return time.Now().Add(w.wait << min(max(j.Attempt-1, 0), 16))
}

func (w *notifyWorker) Timeout(*river.Job[NotifyArgs]) time.Duration { return 30 * time.Second }

// Options configure a queue.
type Options struct {
	// MaxWorkers is how many jobs run at once (default 2).
	MaxWorkers int
	// JobTimeout bounds one rotation job (default 15 minutes).
	JobTimeout time.Duration
	// NotifyAttempts bounds the attempts at one webhook delivery
	// (default 5); NotifyWait is the wait after the first failure
	// (default 1 s, doubling).
	NotifyAttempts int
	NotifyWait     time.Duration
	Logger         *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 2
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 15 * time.Minute
	}
	if o.NotifyAttempts <= 0 {
		o.NotifyAttempts = 5
	}
	if o.NotifyWait <= 0 {
		o.NotifyWait = time.Second
	}
}

// Open connects to the queue in the vault file; call Start to run jobs.
func Open(vaultPath string, h Handlers, opts Options) (*Queue, error) {
	db, err := openDB(vaultPath)
	if err != nil {
		return nil, err
	}
	opts.defaults()
	workers := river.NewWorkers()
	err = river.AddWorkerSafely(workers, &rotateWorker{work: h.Rotate, timeout: opts.JobTimeout})
	if err == nil && h.Notify != nil {
		err = river.AddWorkerSafely(workers, &notifyWorker{deliver: h.Notify, wait: opts.NotifyWait})
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.MaxWorkers}}
	if h.Notify != nil {
		queues[notifyQueue] = river.QueueConfig{MaxWorkers: 1}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		Queues:            queues,
		Workers:           workers,
		FetchPollInterval: 200 * time.Millisecond,
		Logger:            logger,
		// A job whose worker died is not run again by the queue: the
		// account's next run recovers first (the no-loss protocol).
		RescueStuckJobsAfter: opts.JobTimeout + time.Minute,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{db: db, client: client, opts: opts}, nil
}

// notifyQueue is the River queue of webhook deliveries.
const notifyQueue = "notify"

// Notify queues a webhook delivery of body.
func (q *Queue) Notify(ctx context.Context, body []byte) error {
	if _, err := q.client.Insert(ctx, NotifyArgs{Body: body}, &river.InsertOpts{Queue: notifyQueue, MaxAttempts: q.opts.NotifyAttempts}); err != nil {
		return fmt.Errorf("queue a webhook delivery: %w", err)
	}
	return nil
}

// Enqueue adds a rotation job for the account, due at due, unless one is
// already waiting or running; it reports whether a job was added.
func (q *Queue) Enqueue(ctx context.Context, account string, due time.Time) (bool, error) {
	res, err := q.client.Insert(ctx, RotateArgs{Account: account, Due: due}, &river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}},
	})
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", account, err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// Start runs jobs until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop lets running jobs finish until ctx ends, then cancels them, and
// closes the connection.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = q.client.StopAndCancel(context.Background())
	}
	q.db.Close()
	return err
}
