package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/datadir"
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
	c, err := datadir.Create(ctx, cfg, a.actor(), a.note, store.WithClock(a.now))
	if err != nil {
		return err
	}
	defer c.Store.Close()
	fmt.Fprintf(a.stdout, "data directory: %s\n", cfg.DataDir)
	fmt.Fprintf(a.stdout, "vault:          %s\n", store.Redact(cfg.VaultPath()))
	if c.NewKey {
		fmt.Fprintf(a.stdout, "master key:     %s (new, mode 0600)\n", cfg.MasterKeyFile)
		fmt.Fprintln(a.stdout, "Back up the master key apart from the vault: without it no password in the vault can be read.")
	} else {
		fmt.Fprintf(a.stdout, "master key:     %s (existing key used)\n", cfg.MasterKeyFile)
	}
	printToken(a, c.Token)
	return nil
}

// createVault makes the vault under key as datadir.NewVault does, on the
// command's clock and in its user's name.
func (a *app) createVault(ctx context.Context, cfg config.Config, key secret.MasterKey) (*store.Store, string, error) {
	return datadir.NewVault(ctx, cfg, key, a.actor(), store.WithClock(a.now))
}
