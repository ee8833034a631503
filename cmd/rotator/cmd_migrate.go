package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/daemon"
	"github.com/rotator-pam/rotator/datadir"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

type migrateOptions struct {
	to     string
	reopen bool
}

func newMigrateCmd(a *app) *cobra.Command {
	var opts migrateOptions
	c := &cobra.Command{
		Use:   "migrate --to postgres://USER@HOST/DB",
		Short: "Copy the vault file into an empty PostgreSQL database, for several workers",
		Long: `migrate copies the data directory's SQLite vault into an empty PostgreSQL
database, all or nothing, in one transaction: every account, password,
candidate, browser state, run and audit entry, as stored (encrypted: the
copy opens under the same master key, and no secret is decrypted to make
it). It then checks the copy: the row counts, the audit chain, and every
account's password and candidates opening to the same values. A database
that holds a vault already is refused. No serve may run on the data
directory meanwhile.

Once the copy is checked, the vault file is marked moved, in the same
transaction that held it through the copy: it no longer opens, so that no
rotation on it changes a password the copy never learns of. Point every
worker at the copy (store.url, ROTATOR_STORE or --store), and keep the file
as a backup. The webhook deliveries still waiting in the file's job queue
go over to the copy's. --reopen makes the file usable again, on purpose:
its passwords are as of the move.

The database's password never goes on the command line, where every user
of the machine can read it: put it in PGPASSWORD or ~/.pgpass (PGPASSFILE).`,
		Example: `  PGPASSWORD=... rotator migrate --to 'postgres://rotator@db.internal/rotator?sslmode=verify-full'
  rotator migrate --reopen   # the moved file opens again`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runMigrate(cmd.Context(), a, opts) },
	}
	c.Flags().StringVar(&opts.to, "to", "", "the empty PostgreSQL database, postgres://USER@HOST/DB (no password: PGPASSWORD or ~/.pgpass)")
	c.Flags().BoolVar(&opts.reopen, "reopen", false, "make a vault file that was moved open again (its passwords are as of the move)")
	return c
}

func runMigrate(ctx context.Context, a *app, opts migrateOptions) error {
	switch {
	case opts.reopen && opts.to != "":
		return usagef("--reopen and --to go apart")
	case opts.reopen:
		return reopenMoved(ctx, a)
	case !store.IsURL(opts.to):
		return usagef("--to: want a postgres:// URL")
	case store.HasPassword(opts.to):
		return usagef("--to: a password on the command line is visible to every user of this machine: put it in PGPASSWORD or ~/.pgpass")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if cfg.Store.URL != "" {
		return usagef("the vault is already in PostgreSQL (%s): migrate copies the data directory's vault file", store.Redact(cfg.Store.URL))
	}
	lock, err := daemon.LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	s, err := datadir.Open(ctx, cfg, a.note, store.WithClock(a.now))
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := secret.LoadKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return err
	}
	// Said in the vault's own log first, so that the copy carries it.
	if err := s.Audit(ctx, store.AuditEvent{Actor: a.actor(), Action: "vault.copy", Detail: "to " + store.Redact(opts.to)}); err != nil {
		return err
	}
	rep, err := s.CopyTo(ctx, opts.to, key, a.actor())
	if err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, opts.to); err != nil {
		return fmt.Errorf("the vault is copied, and the file marked moved, but the job queue's tables were not made: %w; run `rotator serve` against the copy to make them (webhook deliveries waiting in the file's queue were not copied)", err)
	}
	// The file's queue never runs again: what the webhook was not yet
	// told goes over.
	if n, err := jobs.CopyDeliveries(ctx, cfg.VaultPath(), opts.to); err != nil {
		a.note(fmt.Sprintf("warning: the webhook deliveries waiting in the file's queue were not copied: %v", err))
	} else if n > 0 {
		fmt.Fprintf(a.stdout, "%d webhook deliveries that were waiting go out from the copy\n", n)
	}
	fmt.Fprintf(a.stdout, "copied %s to %s and checked it:\n", cfg.VaultPath(), store.Redact(opts.to))
	for _, t := range []string{"accounts", "password_history", "candidates", "browser_state", "runs", "audit_log"} {
		fmt.Fprintf(a.stdout, "  %-17s %d\n", t, rep.Rows[t])
	}
	fmt.Fprintf(a.stdout, "Point every worker at it (store.url or ROTATOR_STORE: %s), with this master key. %s is marked moved and no longer opens: keep it as a backup.\n",
		store.Redact(opts.to), cfg.VaultPath())
	return nil
}

// reopenMoved makes the data directory's moved vault file open again.
func reopenMoved(ctx context.Context, a *app) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if cfg.Store.URL != "" {
		return usagef("--reopen opens the data directory's vault file; unset store.url (ROTATOR_STORE) for it")
	}
	lock, err := daemon.LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	s, err := datadir.Open(ctx, cfg, a.note, store.WithClock(a.now), store.OpenMoved())
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.ReopenMoved(ctx, a.actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s opens again. Its passwords are as of the move: every change made in PostgreSQL since is not in it.\n", cfg.VaultPath())
	return nil
}
