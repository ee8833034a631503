package datadir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func configIn(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.MasterKeyFile = dir, filepath.Join(dir, config.MasterKeyFile)
	return cfg
}

func TestCreateThenOpen(t *testing.T) {
	ctx := context.Background()
	var notes []string
	note := func(m string) { notes = append(notes, m) }
	dir := filepath.Join(t.TempDir(), "data")
	cfg := configIn(dir)
	if _, err := Open(ctx, cfg, note); err == nil || !strings.Contains(err.Error(), "does not exist: run `rotator init` first") {
		t.Errorf("open before init: %v", err)
	}
	c, err := Create(ctx, cfg, "test", note)
	if err != nil {
		t.Fatal(err)
	}
	c.Store.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 || !c.NewKey || !strings.HasPrefix(c.Token, "rtc_") {
		t.Errorf("dir %v %v, new key %v, token %q", fi.Mode(), err, c.NewKey, c.Token[:4])
	}
	if _, err := Create(ctx, cfg, "test", note); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v", err)
	}
	// Profiles of earlier versions are removed on open, and said so.
	legacy := cfg.LegacyProfilesDir()
	if err := os.MkdirAll(filepath.Join(legacy, "acct"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, cfg, note)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) || len(notes) != 1 || !strings.HasPrefix(notes[0], "removed the old browser profiles") {
		t.Errorf("legacy profiles: %v, notes %q", err, notes)
	}
}

// TestCreateRestrictsAndKeepsTheKey: an existing folder open to others is
// restricted, with a note; an existing key is used, not replaced; a
// directory without a vault is refused by Open.
func TestCreateRestrictsAndKeepsTheKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cfg := configIn(dir)
	var notes []string
	if _, err := Open(ctx, cfg, func(m string) { notes = append(notes, m) }); err == nil || !strings.Contains(err.Error(), "no vault in") {
		t.Errorf("open without a vault: %v", err)
	}
	first, err := Create(ctx, cfg, "test", func(m string) { notes = append(notes, m) })
	if err != nil {
		t.Fatal(err)
	}
	first.Store.Close()
	if len(notes) != 1 || !strings.Contains(notes[0], "was mode 0755; set to 0700") {
		t.Errorf("notes %q", notes)
	}
	key, _ := os.ReadFile(cfg.MasterKeyFile)
	os.Remove(cfg.VaultPath())
	again, err := Create(ctx, cfg, "test", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	again.Store.Close()
	if now, _ := os.ReadFile(cfg.MasterKeyFile); again.NewKey || string(now) != string(key) {
		t.Error("an existing master key was replaced")
	}
}

// TestOpenAccount: an account of the vault is read; an unknown one is
// ErrNotFound, and the vault is closed again.
func TestOpenAccount(t *testing.T) {
	ctx := context.Background()
	cfg := configIn(filepath.Join(t.TempDir(), "data"))
	c, err := Create(ctx, cfg, "test", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Store.AddAccount(ctx, store.NewAccount{Account: store.Account{Name: "alice", Template: "demo-social", Username: "alice"},
		Password: secret.New("Alice-pass-1234")})
	c.Store.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, acct, err := OpenAccount(ctx, cfg, "alice", func(string) {})
	if err != nil || acct.Username != "alice" {
		t.Fatalf("alice: %+v, %v", acct, err)
	}
	s.Close()
	if s, _, err := OpenAccount(ctx, cfg, "bob", func(string) {}); !errors.Is(err, store.ErrNotFound) || s != nil {
		t.Errorf("bob: %v, %v", s, err)
	}
}
