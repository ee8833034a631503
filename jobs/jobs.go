// Package jobs is rotator's job queue: River (github.com/riverqueue/river)
// in the vault's own database, with River's SQLite driver on the vault file
// and its pgx driver (riverpgxv5) on a PostgreSQL vault, which any number
// of workers share. The rest of the product sees only [Queue]: enqueue an
// account, run a function per job.
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
//   - A job left running by a worker that died is run again as soon as
//     another worker looks ([Queue.ReleaseOrphaned]: each worker's River
//     client is named after its vault lease holder, whose death the store
//     can tell), not after River's rescuer.
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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/rotator-pam/rotator/store"

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

// conn is the queue's connection to the vault's database: a database/sql
// handle on the SQLite file, or a pgx pool on PostgreSQL.
type conn struct {
	lite *sql.DB
	pg   *pgxpool.Pool
}

func openConn(location string) (conn, error) {
	if store.IsURL(location) {
		cfg, err := pgxpool.ParseConfig(location)
		if err != nil {
			return conn{}, fmt.Errorf("open job queue: %s: the URL does not parse", store.Redact(location))
		}
		// Queued webhook deliveries are durable as the vault is.
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			return conn{}, fmt.Errorf("open job queue: %s", store.Redact(location))
		}
		return conn{pg: pool}, nil
	}
	u := url.URL{Path: location}
	db, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=rw&_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return conn{}, fmt.Errorf("open job queue: %w", err)
	}
	// River's SQLite driver wants one connection (SQLite writes one at a
	// time).
	db.SetMaxOpenConns(1)
	return conn{lite: db}, nil
}

func (c conn) close() {
	if c.pg != nil {
		c.pg.Close()
		return
	}
	c.lite.Close()
}

// exec runs a statement of the queue's own (its ? placeholders written as
// $1... on PostgreSQL by the caller) and returns the rows it changed.
func (c conn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if c.pg != nil {
		tag, err := c.pg.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := c.lite.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Migrate creates or upgrades River's tables in the vault's database.
func Migrate(ctx context.Context, location string) error {
	c, err := openConn(location)
	if err != nil {
		return err
	}
	defer c.close()
	if c.pg != nil {
		// River's migrations take no lock: workers starting at once on a
		// new database would race to make the same tables, and all but
		// one would fail to start. A session advisory lock, on a
		// connection of its own, lets one at a time migrate.
		lock, err := c.pg.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("job queue migrations: %w", err)
		}
		defer lock.Release()
		if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("job queue migrations: lock: %w", err)
		}
		defer lock.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
		return migrateUp(ctx, riverpgxv5.New(c.pg))
	}
	return migrateUp(ctx, riversqlite.New(c.lite))
}

// migrateLockKey is the advisory lock River's migrations run under
// ("rivermig").
const migrateLockKey int64 = 0x7269766572_6d6967

func migrateUp[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// ReleaseOrphaned makes every running job whose worker is dead available
// again, to be picked up at once, and returns how many there were. A job's
// worker is the River client that last took it, named after its vault
// lease holder (Options.ID); dead says whether that holder is gone (see
// store.HolderDead), and a job no worker is named on counts as orphaned.
// Left alone, River's rescuer would leave such a job running, and the
// account's unique jobs skipped, for RescueStuckJobsAfter. Running it
// again is safe: a rotation recovers an unfinished one first, and takes
// the account's lease, which a live run still holds.
//
// This is River's JobRetry (its drivers' river_job.sql), which leaves
// running jobs alone, done on running ones: the attempt budget grows by
// one when it is spent, so the job runs once more. Unlike JobRetry it
// keeps the job's scheduled time, which is past: River fetches by
// priority, then scheduled time, so the interrupted run goes ahead of the
// runs queued after it instead of waiting behind the whole backlog.
func (q *Queue) ReleaseOrphaned(ctx context.Context, dead func(worker string) bool) (int, error) {
	var ids []int64
	params := river.NewJobListParams().States(rivertype.JobStateRunning).First(10000)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("release jobs of a dead worker: %w", err)
	}
	var workers []string
	for _, j := range res.Jobs {
		n := len(j.AttemptedBy)
		if n == 0 {
			ids, workers = append(ids, j.ID), append(workers, "")
		} else if w := j.AttemptedBy[n-1]; w != q.id && dead(w) {
			ids, workers = append(ids, j.ID), append(workers, w)
		}
	}
	var released int64
	for i, id := range ids {
		// Only while the job is still the dead worker's: another worker
		// may have released it, and a third taken it, meanwhile.
		n, err := q.conn.exec(ctx, q.releaseSQL, id, workers[i])
		if err != nil {
			return int(released), fmt.Errorf("release jobs of a dead worker: %w", err)
		}
		released += n
	}
	return int(released), nil
}

const releaseSQLite = `UPDATE river_job SET
	state = 'available',
	max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END,
	finalized_at = NULL
WHERE id = ?1 AND state = 'running'
	AND coalesce(json_extract(attempted_by, '$[#-1]'), '') = ?2`

const releasePostgres = `UPDATE river_job SET
	state = 'available',
	max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END,
	finalized_at = NULL
WHERE id = $1 AND state = 'running'
	AND coalesce(attempted_by[array_length(attempted_by, 1)], '') = $2`

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
	conn       conn
	client     riverClient
	id         string
	releaseSQL string
	opts       Options
}

// riverClient is what the queue uses of River's client, whichever driver
// it runs on.
type riverClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	ID() string
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
	// ID names this worker's River client: its vault lease holder's id
	// (store.HolderID), by which other workers tell whether it is alive.
	ID string
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

// Open connects to the queue in the vault's database; call Start to run
// jobs.
func Open(location string, h Handlers, opts Options) (*Queue, error) {
	c, err := openConn(location)
	if err != nil {
		return nil, err
	}
	opts.defaults()
	cfg, err := riverConfig(h, opts)
	if err != nil {
		c.close()
		return nil, err
	}
	q := &Queue{conn: c, opts: opts, releaseSQL: releaseSQLite}
	if c.pg != nil {
		q.client, err = river.NewClient(riverpgxv5.New(c.pg), cfg)
		q.releaseSQL = releasePostgres
	} else {
		q.client, err = river.NewClient(riversqlite.New(c.lite), cfg)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.id = q.client.ID()
	return q, nil
}

// riverConfig is River's configuration: the workers, the queues, and no
// rescue of a stuck job before a rotation could have ended.
func riverConfig(h Handlers, opts Options) (*river.Config, error) {
	workers := river.NewWorkers()
	err := river.AddWorkerSafely(workers, &rotateWorker{work: h.Rotate, timeout: opts.JobTimeout})
	if err == nil && h.Notify != nil {
		err = river.AddWorkerSafely(workers, &notifyWorker{deliver: h.Notify, wait: opts.NotifyWait})
	}
	if err != nil {
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
	return &river.Config{
		ID:                opts.ID,
		Queues:            queues,
		Workers:           workers,
		FetchPollInterval: 200 * time.Millisecond,
		Logger:            logger,
		// A job whose worker died is released by ReleaseOrphaned, and the
		// account's next run recovers first (the no-loss protocol).
		RescueStuckJobsAfter: opts.JobTimeout + time.Minute,
	}, nil
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
	q.conn.close()
	return err
}

// CopyDeliveries queues, in the queue at to, the webhook deliveries still
// waiting in the queue at from (available, scheduled or retryable), each
// with the attempts it has left, all in one insert, and reports how many.
// rotator migrate calls it after the copy: the old queue never runs again
// (its vault file is marked moved), and a webhook must still hear of what
// it was not yet told.
func CopyDeliveries(ctx context.Context, from, to string) (int, error) {
	// Clients that never start: they list and insert.
	idle := Handlers{Notify: func(context.Context, []byte) error { return errors.New("not delivering") }}
	src, err := Open(from, idle, Options{})
	if err != nil {
		return 0, err
	}
	defer src.conn.close()
	res, err := src.client.JobList(ctx, river.NewJobListParams().Queues(notifyQueue).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).First(10000))
	if err != nil {
		return 0, fmt.Errorf("list the waiting webhook deliveries: %w", err)
	}
	if len(res.Jobs) == 0 {
		return 0, nil
	}
	var many []river.InsertManyParams
	for _, j := range res.Jobs {
		var args NotifyArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			return 0, fmt.Errorf("a waiting webhook delivery (job %d): %w", j.ID, err)
		}
		many = append(many, river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{Queue: notifyQueue,
			MaxAttempts: max(j.MaxAttempts-j.Attempt, 1), ScheduledAt: j.ScheduledAt}})
	}
	dst, err := Open(to, idle, Options{})
	if err != nil {
		return 0, err
	}
	defer dst.conn.close()
	if _, err := dst.client.InsertMany(ctx, many); err != nil {
		return 0, fmt.Errorf("queue the waiting webhook deliveries: %w", err)
	}
	return len(many), nil
}
