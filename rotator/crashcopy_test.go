package rotator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// vaultFiles are the files of an SQLite vault in WAL mode: the database,
// its write-ahead log and the log's index.
var vaultFiles = []string{"", "-wal", "-shm"}

// crashCopy is what a crash leaves between two writes of a run: the vault's
// files as the last write left them, and the passwords the site held at
// some moment before the next write.
type crashCopy struct {
	after string            // the write it follows
	files map[string][]byte // by suffix: "", "-wal", "-shm"
	// from and to bound the site's passwords (fakeSite.passwords[from:to])
	// while the vault was this copy.
	from, to int
}

// crashCopies is a Store that copies the vault file after every write: the
// store commits with synchronous=FULL, so a write that returned is in the
// files, and a copy of them is what a process killed at that moment leaves
// on disk. Writes are serialised, so no copy sees half a commit.
type crashCopies struct {
	Store
	t    *testing.T
	path string
	site *fakeSite

	mu     sync.Mutex
	copies []crashCopy
}

func newCrashCopies(t *testing.T, st *store.Store, site *fakeSite) *crashCopies {
	c := &crashCopies{Store: st, t: t, path: st.Path(), site: site}
	c.take("setup")
	return c
}

// sitePasswords is how many passwords the site has held so far.
func (c *crashCopies) sitePasswords() int {
	c.site.mu.Lock()
	defer c.site.mu.Unlock()
	return len(c.site.passwords)
}

// take copies the vault after the write named what. Call with mu held (or
// before any run).
func (c *crashCopies) take(what string) {
	c.t.Helper()
	files := map[string][]byte{}
	for _, suffix := range vaultFiles {
		b, err := os.ReadFile(c.path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			c.t.Fatalf("copy the vault after %s: %v", what, err)
		}
		files[suffix] = b
	}
	n := c.sitePasswords()
	c.copies = append(c.copies, crashCopy{after: what, files: files, from: n - 1, to: n})
}

// write runs one write of the store, then copies the vault. The copy
// before it lasted until the write began: a crash in between, or during
// the write (which commits or not), leaves that copy with any password the
// site held meanwhile.
func write[T any](c *crashCopies, what string, fn func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.copies[len(c.copies)-1].to = c.sitePasswords()
	v, err := fn()
	c.take(what)
	return v, err
}

func write0(c *crashCopies, what string, fn func() error) error {
	_, err := write(c, what, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// done closes the last copy's interval at the end of the runs.
func (c *crashCopies) done() []crashCopy {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.copies[len(c.copies)-1].to = c.sitePasswords()
	return c.copies
}

func (c *crashCopies) ClaimStep(ctx context.Context, account string, step uint64) (bool, uint64, error) {
	var last uint64
	ok, err := write(c, "ClaimStep", func() (bool, error) {
		var ok bool
		var err error
		ok, last, err = c.Store.ClaimStep(ctx, account, step)
		return ok, err
	})
	return ok, last, err
}

func (c *crashCopies) AddCandidate(ctx context.Context, name string, pw secret.String) (int64, error) {
	return write(c, "AddCandidate", func() (int64, error) { return c.Store.AddCandidate(ctx, name, pw) })
}

func (c *crashCopies) MarkCandidate(ctx context.Context, name string, seq int64, state store.CandidateState) error {
	return write0(c, "MarkCandidate "+string(state), func() error { return c.Store.MarkCandidate(ctx, name, seq, state) })
}

func (c *crashCopies) ResolveCandidates(ctx context.Context, name string) error {
	return write0(c, "ResolveCandidates", func() error { return c.Store.ResolveCandidates(ctx, name) })
}

func (c *crashCopies) Promote(ctx context.Context, name string, verified secret.String, reason string) error {
	return write0(c, "Promote", func() error { return c.Store.Promote(ctx, name, verified, reason) })
}

func (c *crashCopies) RestorePrevious(ctx context.Context, name string, seq int64, reason string) error {
	return write0(c, "RestorePrevious", func() error { return c.Store.RestorePrevious(ctx, name, seq, reason) })
}

func (c *crashCopies) LockAccountIf(ctx context.Context, name, owner string, ttl time.Duration, admit store.Admit) (store.Lease, error) {
	return write(c, "LockAccount", func() (store.Lease, error) { return c.Store.LockAccountIf(ctx, name, owner, ttl, admit) })
}

func (c *crashCopies) RenewLock(ctx context.Context, l store.Lease, ttl time.Duration) error {
	return write0(c, "RenewLock", func() error { return c.Store.RenewLock(ctx, l, ttl) })
}

func (c *crashCopies) UnlockAccount(ctx context.Context, l store.Lease) error {
	return write0(c, "UnlockAccount", func() error { return c.Store.UnlockAccount(ctx, l) })
}

func (c *crashCopies) Flag(ctx context.Context, name string, state store.State, reason string) error {
	return write0(c, "Flag "+string(state), func() error { return c.Store.Flag(ctx, name, state, reason) })
}

func (c *crashCopies) StartRun(ctx context.Context, r store.Run) (int64, error) {
	return write(c, "StartRun", func() (int64, error) { return c.Store.StartRun(ctx, r) })
}

func (c *crashCopies) FinishRun(ctx context.Context, r store.Run) error {
	return write0(c, "FinishRun", func() error { return c.Store.FinishRun(ctx, r) })
}

func (c *crashCopies) Audit(ctx context.Context, e store.AuditEvent) error {
	return write0(c, "Audit", func() error { return c.Store.Audit(ctx, e) })
}

var _ Store = (*crashCopies)(nil)

// vaultPasswords lists every password st keeps for alice: current,
// candidates, previous.
func vaultPasswords(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	cur, err := st.Password(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	out := []string{cur.Reveal()}
	cands, err := st.Candidates(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cands {
		out = append(out, c.Password.Reveal())
	}
	hist, err := st.History(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		out = append(out, h.Password.Reveal())
	}
	return out
}

// TestCrashCopiesRecover kills a rotation, in effect, after every write it
// makes to the vault, with the site in every state it passed through
// before the next write: a copy of the vault's files is what the kill
// leaves. Each copy, opened as a new process would open it, keeps the
// site's password (current, a candidate or a previous one), and `verify`
// on it takes the dead run's lease at once and ends with the site's
// password current. The browser-driven crash test kills a real rotator at
// a few of these points; this covers all of them.
func TestCrashCopiesRecover(t *testing.T) {
	// Each scenario is the runs, in order, on one vault and one site that
	// answers the nth change as behave(n) says.
	scenarios := []struct {
		name   string
		behave func(int) behaviour
		runs   []string
	}{
		{"accepted", seq(accept), []string{"rotate"}},
		{"lying", seq(lying), []string{"rotate"}},
		{"refused then accepted", seq(refuse, accept), []string{"rotate"}},
		{"times out after the change", seq(timeout), []string{"rotate"}},
		{"silent, then accepted", seq(silent, accept), []string{"rotate", "rotate"}},
		{"broken form, then accepted", seq(brokenForm, accept), []string{"rotate", "rotate"}},
		{"accepted, then verified", seq(accept), []string{"rotate", "verify"}},
	}
	const budget = 3
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			key := secret.NewMasterKey()
			st, err := store.Create(ctx, vaultPath(t.TempDir()), key)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			err = st.AddAccount(ctx, store.NewAccount{
				Account:  store.Account{Name: "alice", Template: "fake", Username: "alice@example.test"},
				Password: secret.New(oldPassword)})
			if err != nil {
				t.Fatal(err)
			}
			site := newFakeSite(oldPassword, sc.behave)
			copies := newCrashCopies(t, st, site)
			r := fakeRotator(copies, site, budget)
			for _, op := range sc.runs {
				var err error
				if op == "verify" {
					_, err = r.Verify(ctx, "alice")
				} else {
					_, err = r.Rotate(ctx, "alice")
				}
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			site.mu.Lock()
			sitePasswords := slices.Clone(site.passwords)
			site.mu.Unlock()
			if len(sitePasswords) < 2 {
				t.Fatalf("the site's password never changed (%s)", strings.Join(sc.runs, ", "))
			}
			all := copies.done()
			kills := 0
			for i, cp := range all {
				for _, sitePW := range sitePasswords[cp.from:cp.to] {
					kills++
					where := fmt.Sprintf("killed after write %d (%s)", i, cp.after)
					recoverCopy(t, where, key, cp, sitePW, budget)
				}
			}
			t.Logf("%d writes, %d kills", len(all)-1, kills)
		})
	}
}

// fakeRotator rotates alice on site through st.
func fakeRotator(st Store, site *fakeSite, budget int) *Rotator {
	return &Rotator{
		Store:            st,
		Opener:           fakeOpener{site: site},
		Templates:        func(string) (*templates.Template, error) { return fakeTemplate(), nil },
		Actor:            "test",
		MaxFailedSignIns: budget,
	}
}

// recoverCopy opens the copy cp as a new process would, with the site
// holding sitePW, checks the password is kept, and runs verify on it.
func recoverCopy(t *testing.T, where string, key secret.MasterKey, cp crashCopy, sitePW string, budget int) {
	t.Helper()
	ctx := context.Background()
	path := vaultPath(t.TempDir())
	for suffix, b := range cp.files {
		if err := os.WriteFile(path+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, path, key)
	if err != nil {
		t.Fatalf("%s: open the vault: %v", where, err)
	}
	defer st.Close()
	if !slices.Contains(vaultPasswords(t, st), sitePW) {
		t.Fatalf("%s: the site's password is neither current, a candidate nor a previous password", where)
	}
	site := newFakeSite(sitePW, nil)
	// The dead run's lease is taken at once: its holder is gone. Verify
	// fails otherwise.
	res, err := fakeRotator(st, site, budget).Verify(ctx, "alice")
	if err != nil {
		t.Fatalf("%s: verify: %v", where, err)
	}
	if res.Outcome != rotation.Succeeded {
		t.Errorf("%s: verify ended %s (%s)", where, res.Outcome, res.Reason)
	}
	if _, failed, _ := site.state(); failed > budget {
		t.Errorf("%s: %d failed sign-ins in one run, budget %d", where, failed, budget)
	}
	cur, err := st.Password(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Reveal() != sitePW {
		t.Errorf("%s: after verify (%s) the current password does not sign in on the site", where, res.Recovered)
	}
}
