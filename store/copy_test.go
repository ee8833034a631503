package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
)

// An SQLite vault with history, a pending candidate, cookies, runs and an
// audit log copies into PostgreSQL whole: the copy opens under the same
// key, its passwords and candidates are the same, its audit chain holds,
// it keeps working (a new account, a new audit entry), and a second copy
// into it is refused.
func TestCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	src, srcPath, key := newVault(t)
	for _, n := range []string{"alice", "bob"} {
		if err := src.AddAccount(ctx, testAccount(n)); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(src.SetPending(ctx, "alice", secret.New("alice-next-1")))
	must(src.Promote(ctx, "alice", secret.New("alice-next-1"), "rotation"))
	_, err := src.AddCandidate(ctx, "bob", secret.New("bob-pending-2"))
	must(err)
	must(src.SetCookies(ctx, "alice", []byte(`[{"name":"trust"}]`)))
	id, err := src.StartRun(ctx, Run{Account: "alice", Kind: rotation.Rotate})
	must(err)
	must(src.FinishRun(ctx, Run{ID: id, Account: "alice", Outcome: rotation.Succeeded}))
	must(src.Audit(ctx, AuditEvent{Actor: "cli:test", Account: "alice", Action: "rotation", Outcome: "succeeded"}))

	url := pgtest.URL(t)
	rep, err := src.CopyTo(ctx, url, key, "cli:test")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows["accounts"] != 2 || rep.Rows["candidates"] == 0 || rep.Rows["audit_log"] == 0 || rep.Rows["runs"] != 1 {
		t.Errorf("copied %v", rep.Rows)
	}
	dst, err := Open(ctx, url, key)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if c, err := dst.Cookies(ctx, "alice"); err != nil || string(c) != `[{"name":"trust"}]` {
		t.Errorf("cookies %q %v", c, err)
	}
	// The copy goes on: new rows get new ids, the chain goes on.
	must(dst.AddAccount(ctx, testAccount("carol")))
	id2, err := dst.StartRun(ctx, Run{Account: "carol", Kind: rotation.Verify})
	if err != nil || id2 <= id {
		t.Errorf("a new run's id %d after %d (%v)", id2, id, err)
	}
	if _, err := dst.VerifyAudit(ctx); err != nil {
		t.Errorf("the copy's audit log after more entries: %v", err)
	}
	if _, err := src.CopyTo(ctx, url, key, "cli:test"); !errors.Is(err, ErrExists) {
		t.Errorf("a copy into a vault: %v", err)
	}
	// A wrong key opens nothing: the copy keeps the vault's key check.
	if _, err := Open(ctx, url, secret.NewMasterKey()); !errors.Is(err, ErrWrongKey) {
		t.Errorf("the copy under another key: %v", err)
	}
	// The file no longer opens: a rotation on it would change a password
	// the copy never learns of. Until it is reopened, on purpose.
	src.Close()
	if _, err := Open(ctx, srcPath, key); !errors.Is(err, ErrMoved) || !strings.Contains(err.Error(), Redact(url)) {
		t.Fatalf("the moved file opens: %v", err)
	}
	moved, err := Open(ctx, srcPath, key, OpenMoved())
	if err != nil {
		t.Fatal(err)
	}
	must(moved.ReopenMoved(ctx, "cli:test"))
	moved.Close()
	again, err := Open(ctx, srcPath, key)
	if err != nil {
		t.Fatalf("the reopened file: %v", err)
	}
	again.Close()
}

// A copy that fails leaves the database as it was: here a table of the
// same name as one of the vault's is in the way.
func TestCopyAllOrNothing(t *testing.T) {
	ctx := context.Background()
	src, _, key := newVault(t)
	if err := src.AddAccount(ctx, testAccount("alice")); err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	other, err := openPostgresDB(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.db.ExecContext(ctx, `CREATE TABLE runs (x int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := src.CopyTo(ctx, url, key, "cli:test"); err == nil {
		t.Fatal("the copy went through a table in its way")
	}
	var tables int
	if err := other.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil || tables != 1 {
		t.Errorf("after a failed copy the database holds %d tables (%v), want the 1 it had", tables, err)
	}
}
