// Package datadir creates and opens rotator's data directory: the folder
// (mode 0700) that holds the vault, with the job queue's tables in the same
// file, beside the master key unless that is kept elsewhere. With store.url
// set the vault and the queue are in that PostgreSQL database instead, and
// the folder keeps the master key (unless elsewhere) and the artifacts.
//
// Create never touches an existing vault and, when it fails, leaves no key
// or folder it made behind. Open refuses, with what to do, a directory
// that is missing or holds no vault, and removes the browser profiles of
// earlier versions, whose cookies open without the master key.
package datadir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/console"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// Created is what Create made.
type Created struct {
	Store *store.Store
	// Token is the console's access token, to show once.
	Token string
	// NewKey is set when the master key file was made, not found.
	NewKey bool
}

// Create makes the data directory (0700; an existing one is restricted to
// its owner, which note is told), the master key file unless it exists, and
// an empty vault under the key, as NewVault does. actor names who ran it,
// for the audit log.
func Create(ctx context.Context, cfg config.Config, actor string, note func(string), opts ...store.Option) (Created, error) {
	if _, err := os.Stat(cfg.VaultPath()); err == nil && cfg.Store.URL == "" {
		return Created{}, fmt.Errorf("%w at %s; nothing changed", store.ErrExists, cfg.VaultPath())
	}
	createdDir, err := makeDir(cfg.DataDir, note)
	if err != nil {
		return Created{}, err
	}
	var (
		key secret.MasterKey
		c   Created
	)
	if _, err := os.Stat(cfg.MasterKeyFile); err == nil {
		if key, err = secret.LoadKeyFile(cfg.MasterKeyFile); err != nil {
			return Created{}, err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(cfg.MasterKeyFile), 0o700); err != nil {
			return Created{}, fmt.Errorf("create master key directory: %w", err)
		}
		if key, err = secret.CreateKeyFile(cfg.MasterKeyFile); err != nil {
			return Created{}, err
		}
		c.NewKey = true
	}
	c.Store, c.Token, err = NewVault(ctx, cfg, key, actor, opts...)
	if err != nil {
		if c.Store == nil && c.NewKey {
			os.Remove(cfg.MasterKeyFile)
		}
		if c.Store == nil && createdDir {
			os.Remove(cfg.DataDir)
		}
		return Created{}, err
	}
	return c, nil
}

// makeDir makes dir with mode 0700, or restricts an existing one to its
// owner, and reports whether it made it.
func makeDir(dir string, note func(string)) (bool, error) {
	created := false
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("create data directory: %w", err)
		}
		created = true
	} else if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return false, fmt.Errorf("data directory %s is not a directory", dir)
	} else if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return false, fmt.Errorf("restrict data directory to its owner: %w", err)
		}
		note(fmt.Sprintf("note: data directory %s was mode %04o; set to 0700", dir, fi.Mode().Perm()))
	}
	// MkdirAll honours the umask; make sure.
	if err := os.Chmod(dir, 0o700); err != nil {
		return created, fmt.Errorf("restrict data directory to its owner: %w", err)
	}
	return created, nil
}

// NewVault makes the vault under key, records it in the audit log,
// creates the job queue's tables in the same file (once, here, not by
// every worker) and a console access token, which it returns. The store
// is nil when the vault file was not created; when it is not, the vault
// was made but is closed.
func NewVault(ctx context.Context, cfg config.Config, key secret.MasterKey, actor string, opts ...store.Option) (*store.Store, string, error) {
	s, err := store.Create(ctx, cfg.VaultPath(), key, opts...)
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*store.Store, string, error) {
		s.Close()
		return s, "", err
	}
	if err := s.Audit(ctx, store.AuditEvent{Actor: actor, Action: "vault.init"}); err != nil {
		return fail(err)
	}
	if err := jobs.Migrate(ctx, cfg.VaultPath()); err != nil {
		return fail(err)
	}
	token, hash := console.NewToken()
	if err := s.SetConsoleToken(ctx, hash, actor); err != nil {
		return fail(err)
	}
	return s, token, nil
}

// Open opens the existing vault, with errors that say what to do. Browser
// profiles of earlier versions hold site cookies that open without the
// master key, and browser state now lives in the vault: Open removes them
// and tells note, or tells note to remove them by hand when it cannot. That
// failure is not Open's: every command opens the vault, the ones an
// operator needs to sort it out too.
func Open(ctx context.Context, cfg config.Config, note func(string), opts ...store.Option) (*store.Store, error) {
	if cfg.Store.URL != "" {
		// A worker joining a PostgreSQL vault another machine made: its
		// own folder (artifacts, serve's lock) is made here, 0700.
		if _, err := makeDir(cfg.DataDir, note); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(cfg.DataDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s does not exist: run `rotator init` first", cfg.DataDir)
		}
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s is not a directory", cfg.DataDir)
	}
	if _, err := os.Stat(cfg.VaultPath()); errors.Is(err, fs.ErrNotExist) && cfg.Store.URL == "" {
		return nil, fmt.Errorf("no vault in %s: run `rotator init` first", cfg.DataDir)
	}
	key, err := secret.LoadKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, cfg.VaultPath(), key, opts...)
	if err != nil {
		return nil, err
	}
	if legacy := cfg.LegacyProfilesDir(); isDir(legacy) {
		if err := os.RemoveAll(legacy); err != nil {
			note(fmt.Sprintf("warning: remove the old browser profiles %s by hand: their cookies are readable without the master key (%v)", legacy, err))
		} else {
			note(fmt.Sprintf("removed the old browser profiles in %s: browser state is kept in the vault now; sites may ask to trust the browser once more", legacy))
		}
	}
	return s, nil
}

// OpenAccount opens the vault as Open does and reads the account name,
// closing the vault again when that fails.
func OpenAccount(ctx context.Context, cfg config.Config, name string, note func(string), opts ...store.Option) (*store.Store, store.Account, error) {
	s, err := Open(ctx, cfg, note, opts...)
	if err != nil {
		return nil, store.Account{}, err
	}
	acct, err := s.Account(ctx, name)
	if err != nil {
		s.Close()
		return nil, store.Account{}, err
	}
	return s, acct, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
