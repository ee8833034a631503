package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
)

func newVault(t *testing.T) (*Store, string, secret.MasterKey) {
	t.Helper()
	path := location(t)
	key := secret.NewMasterKey()
	s, err := Create(context.Background(), path, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path, key
}

// newVaultAt is newVault on an injected clock.
func newVaultAt(t *testing.T, now *time.Time) *Store {
	t.Helper()
	s, err := Create(context.Background(), location(t), secret.NewMasterKey(), WithClock(func() time.Time { return *now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testAccount(name string) NewAccount {
	k, _ := otp.ParseSecret("JBSWY3DPEHPK3PXP")
	return NewAccount{
		Account: Account{Name: name, Template: "demo-social", Username: name + "@example.test",
			TOTP: &TOTP{Key: k, MinValidity: 7 * time.Second}},
		Password: secret.New("correct horse " + name),
	}
}

func TestCreateOpenRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, path, key := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		s.Close()

		if !onPostgres(t) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("vault mode %o, want 600", fi.Mode().Perm())
			}
		}

		s2, err := Open(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		a, err := s2.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if a.Username != "alice@example.test" || a.Template != "demo-social" || a.State != StateActive {
			t.Errorf("account %+v", a)
		}
		if a.TOTP == nil || a.TOTP.Key.Secret.Reveal() != "JBSWY3DPEHPK3PXP" || a.TOTP.MinValidity != 7*time.Second || a.TOTP.Key.Digits != 6 {
			t.Errorf("totp %+v", a.TOTP)
		}
		pw, err := s2.Password(ctx, "alice")
		if err != nil || pw.Reveal() != "correct horse alice" {
			t.Errorf("password read back differs (%v)", err)
		}
		if onPostgres(t) {
			// Commits wait for the WAL flush, on a server that flushes.
			for q, want := range map[string]string{`SHOW synchronous_commit`: "on", `SHOW fsync`: "on"} {
				var got string
				if err := s2.db.QueryRow(q).Scan(&got); err != nil || got != want {
					t.Errorf("%s: %q %v", q, got, err)
				}
			}
			return
		}
		var mode string
		if err := s2.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q %v", mode, err)
		}
		var sync int
		if err := s2.db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous %d %v, want 2 (FULL)", sync, err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		_, path, _ := newVault(t)

		if _, err := Open(ctx, path, secret.NewMasterKey()); !errors.Is(err, ErrWrongKey) || err.Error() != "master key does not match this vault" {
			t.Errorf("wrong key: %v", err)
		}
		if _, err := Open(ctx, filepath.Join(t.TempDir(), "nope.db"), secret.NewMasterKey()); !errors.Is(err, ErrNotInitialised) {
			t.Errorf("missing: %v", err)
		}
		junk := filepath.Join(t.TempDir(), "junk.db")
		if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 400), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, junk, secret.NewMasterKey()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("junk: %v", err)
		}
		before, _ := os.ReadFile(junk)
		if after, _ := os.ReadFile(junk); !bytes.Equal(before, after) {
			t.Error("opening a corrupt file changed it")
		}
		if _, err := Create(ctx, path, secret.NewMasterKey()); !errors.Is(err, ErrExists) {
			t.Errorf("create over existing: %v", err)
		}
	})
}

func TestWrongKeyWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, path, _ := newVault(t)
	if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		entries, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
			m[e.Name()] = b
		}
		return m
	}
	before := snapshot()
	if _, err := Open(ctx, path, secret.NewMasterKey()); !errors.Is(err, ErrWrongKey) {
		t.Fatal(err)
	}
	after := snapshot()
	for name, b := range before {
		if name == filepath.Base(path)+"-shm" {
			continue // shared-memory index, rebuilt by any reader
		}
		if !bytes.Equal(b, after[name]) {
			t.Errorf("%s changed on a wrong-key open", name)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, path, key := newVault(t)
		setVersion(t, s, 99)
		s.Close()
		_, err := Open(ctx, path, key)
		if err == nil || !strings.Contains(err.Error(), "newer than this rotator") {
			t.Errorf("got %v", err)
		}
	})
}

func TestDuplicateAndValidation(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAccount(ctx, testAccount("alice")); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate: %v", err)
		}
		// An import with one bad account adds none.
		bad := testAccount("bob")
		bad.Name = "bob smith"
		if err := s.ImportAccounts(ctx, []NewAccount{testAccount("carol"), bad}); err == nil {
			t.Error("bad name accepted")
		}
		if err := s.ImportAccounts(ctx, []NewAccount{testAccount("dave"), testAccount("alice")}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("import over existing: %v", err)
		}
		list, _ := s.Accounts(ctx)
		if len(list) != 1 {
			t.Errorf("%d accounts after failed imports, want 1", len(list))
		}
		if _, err := s.Account(ctx, "zed"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
		if err := s.DeleteAccount(ctx, "zed"); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete unknown: %v", err)
		}
		if err := s.DeleteAccount(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Password(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted account still there: %v", err)
		}
	})
}

// A ciphertext copied to another row or column must not open.
func TestCiphertextBoundToRowAndField(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAccount(ctx, testAccount("bob")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`UPDATE accounts SET password = (SELECT password FROM accounts WHERE name = 'alice') WHERE name = 'bob'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Password(ctx, "bob"); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("alice's ciphertext opened as bob's password: %v", err)
		}
		if _, err := s.db.Exec(`UPDATE accounts SET pending_password = password WHERE name = 'alice'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pending(ctx, "alice"); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("password ciphertext opened as pending: %v", err)
		}
		if _, err := s.db.Exec(`UPDATE accounts SET totp_secret = (SELECT totp_secret FROM accounts WHERE name = 'alice') WHERE name = 'bob'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Account(ctx, "bob"); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("alice's TOTP secret opened for bob: %v", err)
		}
	})
}

func TestPendingPromoteHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		s := newVaultAt(t, &now)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}

		if _, err := s.Pending(ctx, "alice"); !errors.Is(err, ErrNoPending) {
			t.Errorf("pending before: %v", err)
		}
		if err := s.Promote(ctx, "alice", secret.New("new-1"), "rotation"); !errors.Is(err, ErrNoPending) {
			t.Errorf("promote without pending: %v", err)
		}
		now = now.Add(time.Hour)
		if err := s.SetPending(ctx, "alice", secret.New("new-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPending(ctx, "alice", secret.New("new-1")); err != nil {
			t.Errorf("same pending again: %v", err)
		}
		if err := s.SetPending(ctx, "alice", secret.New("other")); err == nil {
			t.Error("a different pending password replaced an unresolved one")
		}
		a, _ := s.Account(ctx, "alice")
		if !a.HasPending || !a.PendingSince.Equal(now) {
			t.Errorf("pending flags %+v", a)
		}
		now = now.Add(time.Minute)
		if err := s.Promote(ctx, "alice", secret.New("new-1"), "rotation"); err != nil {
			t.Fatal(err)
		}
		pw, _ := s.Password(ctx, "alice")
		if pw.Reveal() != "new-1" {
			t.Error("current after promote is not the promoted password")
		}
		if _, err := s.Pending(ctx, "alice"); !errors.Is(err, ErrNoPending) {
			t.Errorf("pending after promote: %v", err)
		}
		now = now.Add(time.Hour)
		if err := s.ReplacePassword(ctx, "alice", secret.New("manual-2"), "set by administrator"); err != nil {
			t.Fatal(err)
		}
		h, err := s.History(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Password.Reveal() != "new-1" || h[0].Reason != "set by administrator" ||
			h[1].Password.Reveal() != "correct horse alice" || h[1].Reason != "rotation" {
			t.Fatalf("history %+v", h)
		}
		if !h[1].RetiredAt.Equal(time.Date(2026, 11, 27, 11, 1, 0, 0, time.UTC)) || !h[0].SetAt.Equal(h[1].RetiredAt) {
			t.Errorf("history times %v %v %v", h[1].RetiredAt, h[0].SetAt, h[0].RetiredAt)
		}
		a, _ = s.Account(ctx, "alice")
		if !a.LastChange.Equal(h[0].RetiredAt) {
			t.Errorf("last change %v, want %v", a.LastChange, h[0].RetiredAt)
		}
		// A refused candidate is swapped for another; only the one pending.
		if err := s.SetPending(ctx, "alice", secret.New("refused-by-site")); err != nil {
			t.Fatal(err)
		}
		if err := s.ReplacePending(ctx, "alice", secret.New("something-else"), secret.New("next")); err == nil {
			t.Error("replaced a pending password that was not the one named")
		}
		if err := s.ReplacePending(ctx, "alice", secret.New("refused-by-site"), secret.New("next")); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Pending(ctx, "alice"); p.Reveal() != "next" {
			t.Error("pending not replaced")
		}
	})
}

// Two stores on one file stand for two processes: each step is claimed once.
func TestClaimStepAcrossConnections(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s1, path, key := newVault(t)
		if err := s1.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()

		var mu sync.Mutex
		wins := map[uint64]int{}
		var wg sync.WaitGroup
		for i := range 8 {
			st := s1
			if i%2 == 1 {
				st = s2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for step := uint64(100); step < 120; step++ {
					ok, _, err := st.ClaimStep(ctx, "alice", step)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						wins[step]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		for step, n := range wins {
			if n != 1 {
				t.Errorf("step %d claimed %d times", step, n)
			}
		}
		ok, last, err := s2.ClaimStep(ctx, "alice", 119)
		if ok || last != 119 || err != nil {
			t.Errorf("reclaim: %v %d %v", ok, last, err)
		}
		if err := s1.ReserveStep(ctx, "alice", 50); err != nil {
			t.Fatal(err)
		}
		if l, _, _ := s1.LastStep(ctx, "alice"); l != 119 {
			t.Errorf("ReserveStep moved the step back to %d", l)
		}
		if _, _, err := s1.ClaimStep(ctx, "nobody", 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}

		// The generator over the store never repeats a step, even across stores.
		k, _ := otp.ParseSecret("JBSWY3DPEHPK3PXP")
		tok1, err := otp.Generator{Guard: s1}.Fresh(ctx, "alice", k, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if tok1.Step <= 119 {
			t.Errorf("fresh step %d not after 119", tok1.Step)
		}
		if ok, _, err = s2.ClaimStep(ctx, "alice", tok1.Step); err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Error("second store claimed a step the first handed out")
		}
	})
}

func TestCookiesAndAudit(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Cookies(ctx, "alice"); c != nil || err != nil {
			t.Errorf("no cookies yet: %q %v", c, err)
		}
		if err := s.SetCookies(ctx, "alice", []byte(`[{"name":"trusted","value":"x"}]`)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCookies(ctx, "alice", []byte(`[{"name":"trusted","value":"y"}]`)); err != nil {
			t.Fatal(err)
		}
		c, err := s.Cookies(ctx, "alice")
		if err != nil || string(c) != `[{"name":"trusted","value":"y"}]` {
			t.Errorf("cookies %q %v", c, err)
		}
		if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Account: "alice", Action: "account.reveal"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "vault.init"}); err != nil {
			t.Fatal(err)
		}
		ev, _ := s.AuditLog(ctx, "alice")
		if len(ev) != 1 || ev[0].Action != "account.reveal" {
			t.Errorf("audit %+v", ev)
		}
		all, _ := s.AuditLog(ctx, "")
		if len(all) != 2 {
			t.Errorf("audit all %d", len(all))
		}
	})
}

// No plaintext secret reaches the database file, its WAL or journal.
// On PostgreSQL the whole cluster's data folder is searched, WAL included,
// before and after a checkpoint.
func TestNoPlaintextOnDisk(t *testing.T) { eachBackend(t, testNoPlaintextOnDisk) }

func testNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault.db")
	if onPostgres(t) {
		path = location(t)
		dir = pgtest.DataDir()
	}
	s, err := Create(ctx, path, secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	const pw, pending, old, cookie, refused = "Pl41ntext-Password-Canary", "Pending-Canary-77", "History-Canary-31", "Cookie-Canary-99", "Refused-Canary-45"
	a := testAccount("alice")
	a.Password = secret.New(old)
	k, err := otp.ParseSecret("KRUGS4ZANFZSAYJAONSWG4TFOQQGC3TE")
	if err != nil {
		t.Fatal(err)
	}
	a.TOTP.Key = k
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("add", s.AddAccount(ctx, a))
	must("set pending", s.SetPending(ctx, "alice", secret.New(pw)))
	must("promote", s.Promote(ctx, "alice", secret.New(pw), "rotation"))
	seq, err := s.AddCandidate(ctx, "alice", secret.New(refused))
	must("add candidate", err)
	must("submitted", s.MarkCandidate(ctx, "alice", seq, CandidateSubmitted))
	must("refused", s.MarkCandidate(ctx, "alice", seq, CandidateRefused))
	must("set pending", s.SetPending(ctx, "alice", secret.New(pending)))
	must("set cookies", s.SetCookies(ctx, "alice", []byte(cookie)))
	// Check with the WAL still in place, then after the checkpoint on close.
	check := func(when string) {
		files := 0
		must("walk", filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, needle := range []string{pw, pending, old, cookie, refused, k.Secret.Reveal(), "This is a secret and"} {
				if bytes.Contains(b, []byte(needle)) {
					t.Errorf("%s: %s holds a plaintext secret", when, p)
				}
			}
			return nil
		}))
		if files == 0 {
			t.Fatalf("%s: no file to check", when)
		}
	}
	check("open")
	s.Close()
	if onPostgres(t) {
		must("checkpoint", pgtest.Exec(ctx, "CHECKPOINT"))
	}
	check("closed")
}

// BenchmarkClaimStep measures one durable replay-guard write
// (BEGIN IMMEDIATE, UPDATE, COMMIT with synchronous=FULL).
func BenchmarkClaimStep(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "vault.db")
	s, err := Create(ctx, path, secret.NewMasterKey())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
		b.Fatal(err)
	}
	step := uint64(0)
	for b.Loop() {
		step++
		if ok, _, err := s.ClaimStep(ctx, "alice", step); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkPromote measures the one-transaction pending-to-current promotion.
func BenchmarkPromote(b *testing.B) {
	ctx := context.Background()
	s, err := Create(ctx, filepath.Join(b.TempDir(), "vault.db"), secret.NewMasterKey())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if err := s.SetPending(ctx, "alice", secret.New(fmt.Sprint("pw-", i))); err != nil {
			b.Fatal(err)
		}
		if err := s.Promote(ctx, "alice", secret.New(fmt.Sprint("pw-", i)), "rotation"); err != nil {
			b.Fatal(err)
		}
	}
}

// A vault made by schema version 1 is migrated forward on open, keeping its
// accounts.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vault.db")
	key := secret.NewMasterKey()
	s, err := openDB(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	f.Close()
	// Build a version-1 vault by hand: first migration only.
	tx, _ := s.db.db.Begin()
	if _, err := tx.Exec(migrations[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	vaultID := bytes.Repeat([]byte{7}, 16)
	s.sealer, _ = secret.NewSealer(key, vaultID)
	if _, err := s.db.Exec(`INSERT INTO vault_meta VALUES ('vault_id', ?), ('key_check', ?)`, vaultID, s.sealer.KeyCheck()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO accounts (name, template, username, password, password_set_at, created_at, updated_at) VALUES ('old', 't', 'u', ?, 1, 1, 1)`,
		s.sealer.SealString(secret.New("old-pw"), adPassword("old"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO audit_log (at, actor, account, action) VALUES (1, 'cli:x', 'old', 'account.add'), (2, 'cli:x', 'old', 'account.reveal')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var v int
	if err := s2.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() {
		t.Errorf("version %d after open, want %d", v, SchemaVersion())
	}
	a, err := s2.Account(ctx, "old")
	if err != nil || a.Proxy != "" {
		t.Fatalf("%+v %v", a, err)
	}
	if pw, _ := s2.Password(ctx, "old"); pw.Reveal() != "old-pw" {
		t.Error("password lost in migration")
	}
	// The old audit entries were chained by the migration.
	if err := s2.Audit(ctx, AuditEvent{Actor: "cli:x", Account: "old", Action: "rotation"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.VerifyAudit(ctx); n != 3 || err != nil {
		t.Errorf("audit after migration: %d %v", n, err)
	}
	n := testAccount("new")
	n.Proxy = "socks5://127.0.0.1:1080"
	if err := s2.AddAccount(ctx, n); err != nil {
		t.Fatal(err)
	}
	if a, _ := s2.Account(ctx, "new"); a.Proxy != n.Proxy {
		t.Errorf("proxy %q", a.Proxy)
	}
}

func TestAuditChain(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, _, _ := newVault(t)
		for i := range 5 {
			if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Account: "alice", Action: "rotation", Outcome: "succeeded", Detail: fmt.Sprint("run ", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.VerifyAudit(ctx); err != nil || n != 5 {
			t.Fatalf("verify: %d %v", n, err)
		}
		// Append-only: SQL refuses updates and deletes.
		if _, err := s.db.Exec(`UPDATE audit_log SET detail = 'x' WHERE id = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("update allowed: %v", err)
		}
		if _, err := s.db.Exec(`DELETE FROM audit_log WHERE id = 2`); err == nil {
			t.Error("delete allowed")
		}
		// Someone with write access to the file drops the triggers.
		dropAuditGuards(t, s)
		check := func(wantID int64, want string) {
			t.Helper()
			_, err := s.VerifyAudit(ctx)
			var b *AuditBroken
			if !errors.As(err, &b) || b.ID != wantID || !strings.Contains(b.Problem, want) {
				t.Errorf("got %v, want entry %d %s", err, wantID, want)
			}
		}
		if _, err := s.db.Exec(`UPDATE audit_log SET outcome = 'failed' WHERE id = 3`); err != nil {
			t.Fatal(err)
		}
		check(3, "altered")
		if _, err := s.db.Exec(`UPDATE audit_log SET outcome = 'succeeded' WHERE id = 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAudit(ctx); err != nil {
			t.Fatalf("restored: %v", err)
		}
		if _, err := s.db.Exec(`DELETE FROM audit_log WHERE id = 4`); err != nil {
			t.Fatal(err)
		}
		check(4, "removed")
		if _, err := s.db.Exec(`INSERT INTO audit_log (id, at, actor, account, action, outcome, detail, hash) SELECT 4, at, actor, account, action, outcome, detail, hash FROM audit_log WHERE id = 3`); err != nil {
			t.Fatal(err)
		}
		check(4, "altered")
		if _, err := s.db.Exec(`DELETE FROM audit_log WHERE id >= 4`); err != nil {
			t.Fatal(err)
		}
		check(4, "entries after it were removed")
		if _, err := s.db.Exec(`INSERT INTO audit_log (id, at, actor, action) VALUES (4, 1, 'x', 'y')`); err != nil {
			t.Fatal(err)
		}
		check(4, "not written by rotator")
	})
}

func TestAccountLock(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now()
		s, path, key := newVault(t)
		s.now = func() time.Time { return now }
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		l1, err := s.LockAccount(ctx, "alice", "run-1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// Another process (a second store on the file) cannot take it.
		s2, err := Open(ctx, path, key, WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if _, err := s2.LockAccount(ctx, "alice", "run-2", time.Minute); !errors.Is(err, ErrLocked) {
			t.Fatalf("second lock: %v", err)
		}
		// The holder renews; after release the other may take it.
		if err := s.RenewLock(ctx, l1, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.RenewLock(ctx, Lease{Account: "alice", Owner: "run-2", Token: l1.Token}, time.Minute); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("a non-holder renewed: %v", err)
		}
		if err := s.UnlockAccount(ctx, l1); err != nil {
			t.Fatal(err)
		}
		l2, err := s2.LockAccount(ctx, "alice", "run-2", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if l2.Token <= l1.Token {
			t.Errorf("fencing token did not grow: %d then %d", l1.Token, l2.Token)
		}
		// An expired lease is taken over.
		now = now.Add(2 * time.Minute)
		if _, err := s.LockAccount(ctx, "alice", "run-3", time.Minute); err != nil {
			t.Errorf("expired lease not taken over: %v", err)
		}
		if _, err := s.LockAccount(ctx, "nobody", "x", time.Minute); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}
	})
}

func TestChangesAndLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		s := newVaultAt(t, &now)
		if err := s.AddAccount(ctx, testAccount("alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPending(ctx, "alice", secret.New("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, "alice", secret.New("a"), "rotation"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if err := s.ReplacePassword(ctx, "alice", secret.New("manual"), "set by administrator"); err != nil { // not a site change
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if err := s.SetPending(ctx, "alice", secret.New("b")); err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, "alice", secret.New("b"), "rotation"); err != nil {
			t.Fatal(err)
		}
		ch, err := s.Changes(ctx, "alice", now.Add(-24*time.Hour))
		if err != nil || len(ch) != 2 || !ch[0].Equal(now.Add(-2*time.Hour)) {
			t.Fatalf("changes %v %v", ch, err)
		}
		if ch, _ := s.Changes(ctx, "alice", now.Add(-time.Hour)); len(ch) != 1 {
			t.Errorf("window: %v", ch)
		}
		if err := s.SetLimit(ctx, "alice", Limit{Max: 1}); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.GetLimit(ctx, "alice"); l.Max != 1 || l.Override {
			t.Errorf("limit %+v", l)
		}
		h, _ := s.History(ctx, "alice")
		if len(h) != 3 || !h[0].ChangedOnSite || h[1].ChangedOnSite || !h[2].ChangedOnSite {
			t.Errorf("history flags %+v", h)
		}
	})
}

// The chain's head (how many entries, the last one's hash), MAC'd with the
// vault's key, is kept in vault_meta with every entry: removing the last
// entries, the first ones or all of them is reported, even with the head
// record removed or rewritten too, and even when rotator has written more
// entries since.
func TestAuditHeadCatchesTruncation(t *testing.T) {
	eachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		keys := map[*Store]secret.MasterKey{}
		fill := func(t *testing.T) *Store {
			s, _, key := newVault(t)
			keys[s] = key
			for i := range 5 {
				if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "rotation", Detail: fmt.Sprint("run ", i)}); err != nil {
					t.Fatal(err)
				}
			}
			dropAuditGuards(t, s)
			return s
		}
		// What someone who can write the file but lacks the key can do to the
		// head: drop it, or rewrite it from the rows they kept.
		forgeHead := func(t *testing.T, s *Store) {
			var id int64
			var h []byte
			if err := s.db.QueryRow(`SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&id, &h); err != nil {
				t.Fatal(err)
			}
			mustExec(t, s, `UPDATE vault_meta SET value = ? WHERE key = 'audit_head'`, append([]byte(fmt.Sprint(id, ":")), h...))
		}
		for _, c := range []struct {
			name   string
			tamper func(t *testing.T, s *Store)
		}{
			{"last rows", func(t *testing.T, s *Store) { mustExec(t, s, `DELETE FROM audit_log WHERE id >= 4`) }},
			{"last rows, then written again", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log WHERE id >= 4`)
				if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "rotation", Detail: "after"}); err != nil {
					t.Fatal(err)
				}
			}},
			{"last rows and the head record", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log WHERE id >= 4`)
				mustExec(t, s, `DELETE FROM vault_meta WHERE key = 'audit_head'`)
			}},
			{"last rows, head rewritten", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log WHERE id >= 4`)
				forgeHead(t, s)
			}},
			{"first rows", func(t *testing.T, s *Store) { mustExec(t, s, `DELETE FROM audit_log WHERE id <= 2`) }},
			{"first and last rows, head rewritten", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log WHERE id <= 2 OR id = 5`)
				forgeHead(t, s)
			}},
			{"all rows", func(t *testing.T, s *Store) { mustExec(t, s, `DELETE FROM audit_log`) }},
			{"all rows, then written again", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log`)
				if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "rotation", Detail: "after"}); err != nil {
					t.Fatal(err)
				}
			}},
			{"all rows and the head record", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log`)
				mustExec(t, s, `DELETE FROM vault_meta WHERE key = 'audit_head'`)
			}},
			{"all rows and the head record, then written again", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log`)
				mustExec(t, s, `DELETE FROM vault_meta WHERE key = 'audit_head'`)
				if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "rotation", Detail: "after"}); err != nil {
					t.Fatal(err)
				}
			}},
			{"all rows and the head record, in a vault opened again", func(t *testing.T, s *Store) {
				mustExec(t, s, `DELETE FROM audit_log`)
				mustExec(t, s, `DELETE FROM vault_meta WHERE key = 'audit_head'`)
				s2, err := Open(ctx, s.path, keys[s])
				if err != nil {
					t.Fatal(err)
				}
				defer s2.Close()
				var b *AuditBroken
				if _, err := s2.VerifyAudit(ctx); !errors.As(err, &b) {
					t.Errorf("a vault opened again says intact (%v)", err)
				}
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				s := fill(t)
				c.tamper(t, s)
				var b *AuditBroken
				if _, err := s.VerifyAudit(ctx); !errors.As(err, &b) {
					t.Errorf("verify says intact (%v)", err)
				}
			})
		}

		t.Run("empty vault", func(t *testing.T) {
			s, _, _ := newVault(t)
			// A new vault has its sealed head from the start.
			if st, err := s.CheckAudit(ctx); err != nil || st.Entries != 0 || st.HeadRecorded {
				t.Fatalf("empty vault: %+v %v", st, err)
			}
			if err := s.Audit(ctx, AuditEvent{Actor: "cli:test", Action: "vault.init"}); err != nil {
				t.Fatal(err)
			}
			if st, err := s.CheckAudit(ctx); err != nil || st.Entries != 1 || st.HeadRecorded {
				t.Fatalf("after one entry: %+v %v", st, err)
			}
		})

		// A vault written by the previous version keeps an unsealed head ("id:"
		// and the last hash): it still verifies, and the sealed head is
		// recorded then.
		t.Run("previous version", func(t *testing.T) {
			s, _, _ := newVault(t)
			// As the previous version wrote them: entries sealed without
			// "v2", and the head unsealed.
			var prev []byte
			for i := range 5 {
				e := AuditEvent{ID: int64(i + 1), At: time.UnixMilli(int64(1000 + i)), Actor: "cli:old", Action: "rotation", Detail: fmt.Sprint("run ", i)}
				prev = s.auditMACv1(prev, e)
				if _, err := s.db.Exec(`INSERT INTO audit_log (id, at, actor, account, action, outcome, detail, hash) VALUES (?, ?, ?, '', ?, '', ?, ?)`,
					e.ID, e.At.UnixMilli(), e.Actor, e.Action, e.Detail, prev); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.db.Exec(`INSERT INTO vault_meta (key, value) VALUES ('audit_head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
				append([]byte("5:"), prev...)); err != nil {
				t.Fatal(err)
			}
			dropAuditGuards(t, s)
			st, err := s.CheckAudit(ctx)
			if err != nil || st.Entries != 5 || !st.HeadRecorded {
				t.Fatalf("previous version's vault: %+v %v", st, err)
			}
			if st, err := s.CheckAudit(ctx); err != nil || st.Entries != 5 || st.HeadRecorded {
				t.Fatalf("second verify: %+v %v", st, err)
			}
			if _, err := s.db.Exec(`DELETE FROM audit_log WHERE id = 5`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyAudit(ctx); err == nil {
				t.Error("the recorded head does not catch a removed entry")
			}
		})
	})
}

// mustExec runs a statement on the vault's database behind the store's
// back, as someone with write access to the file would.
func mustExec(t *testing.T, s *Store, query string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
