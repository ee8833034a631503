package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/console"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

type initOptions struct{}

func newInitCmd(a *app) *cobra.Command {
	var opts initOptions
	return &cobra.Command{
		Use:   "init",
		Short: "Create the data directory, the master key and the vault",
		Long: `init creates the data directory (mode 0700), a random 32-byte master key
file (mode 0600) and an empty vault encrypted under it, and prints where they
are. If the master key file already exists (ROTATOR_MASTER_KEY_FILE or
master_key_file pointing at a key kept elsewhere) it is used, not replaced.
An existing vault is never touched.`,
		Example: `  rotator init
  rotator init --data /var/lib/rotator
  ROTATOR_MASTER_KEY_FILE=/run/secrets/rotator.key rotator init`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runInit(cmd.Context(), a, opts) },
	}
}

func runInit(ctx context.Context, a *app, _ initOptions) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.VaultPath()); err == nil {
		return fmt.Errorf("%w at %s; nothing changed", store.ErrExists, cfg.VaultPath())
	}
	createdDir := false
	if fi, err := os.Stat(cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		createdDir = true
	} else if err != nil {
		return fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", cfg.DataDir)
	} else if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("restrict data directory to its owner: %w", err)
		}
		fmt.Fprintf(a.stderr, "note: data directory %s was mode %04o; set to 0700\n", cfg.DataDir, fi.Mode().Perm())
	}
	// MkdirAll honours the umask; make sure.
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("restrict data directory to its owner: %w", err)
	}

	var (
		key        secret.MasterKey
		createdKey bool
	)
	if _, err := os.Stat(cfg.MasterKeyFile); err == nil {
		if key, err = secret.LoadKeyFile(cfg.MasterKeyFile); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(cfg.MasterKeyFile), 0o700); err != nil {
			return fmt.Errorf("create master key directory: %w", err)
		}
		if key, err = secret.CreateKeyFile(cfg.MasterKeyFile); err != nil {
			return err
		}
		createdKey = true
	}
	s, token, err := a.createVault(ctx, cfg, key)
	if err != nil {
		if s == nil && createdKey {
			os.Remove(cfg.MasterKeyFile)
		}
		if s == nil && createdDir {
			os.Remove(cfg.DataDir)
		}
		return err
	}
	defer s.Close()
	fmt.Fprintf(a.stdout, "data directory: %s\n", cfg.DataDir)
	fmt.Fprintf(a.stdout, "vault:          %s\n", cfg.VaultPath())
	if createdKey {
		fmt.Fprintf(a.stdout, "master key:     %s (new, mode 0600)\n", cfg.MasterKeyFile)
		fmt.Fprintln(a.stdout, "Back up the master key apart from the vault: without it no password in the vault can be read.")
	} else {
		fmt.Fprintf(a.stdout, "master key:     %s (existing key used)\n", cfg.MasterKeyFile)
	}
	printToken(a, token)
	return nil
}

// createVault makes the vault under key, records it in the audit log,
// creates the job queue's tables in the same file (once, here, not by
// every worker) and a console access token, which it returns. The store
// is nil when the vault file was not created.
func (a *app) createVault(ctx context.Context, cfg config.Config, key secret.MasterKey) (*store.Store, string, error) {
	s, err := store.Create(ctx, cfg.VaultPath(), key, store.WithClock(a.now))
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*store.Store, string, error) {
		s.Close()
		return s, "", err
	}
	if err := s.Audit(ctx, store.AuditEvent{Actor: a.actor(), Action: "vault.init"}); err != nil {
		return fail(err)
	}
	if err := jobs.Migrate(ctx, cfg.VaultPath()); err != nil {
		return fail(err)
	}
	token, hash := console.NewToken()
	if err := s.SetConsoleToken(ctx, hash, a.actor()); err != nil {
		return fail(err)
	}
	return s, token, nil
}
