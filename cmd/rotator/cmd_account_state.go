package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newAccountClearCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "clear NAME",
		Short: "Clear a paused or needs_operator account so rotations run again",
		Long: `clear is what an operator does after resolving what stopped an account (a
challenge solved by hand, a password checked on the site): the account goes
back to active and the audit log records who cleared it. A pending password
left by an unfinished rotation stays; the next rotation or verify probes it
first.`,
		Example: `  rotator account clear demo`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAccountClear(cmd.Context(), a, args[0])
		},
	}
}

func runAccountClear(ctx context.Context, a *app, name string) error {
	s, _, _, err := a.openAccount(ctx, name)
	if err != nil {
		return err
	}
	defer s.Close()
	acct, err := s.ClearFlag(ctx, name, a.actor())
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "cleared %s (was %s)\n", name, acct.State)
	if acct.HasPending {
		fmt.Fprintln(a.stdout, "a pending password is kept: the next rotate or verify probes it first")
	}
	return nil
}

func newAccountLimitCmd(a *app) *cobra.Command {
	var override bool
	c := &cobra.Command{
		Use:   "limit NAME N [--override]",
		Short: "Set an account's maximum password changes in 24 hours",
		Long: `limit sets how many password changes the account may have in any rolling 24
hours. Lower than the configured cap (rotation.max_changes_per_day, 2) always
works; higher needs --override, which the audit log records. 0 returns to the
configured cap.`,
		Example: `  rotator account limit demo 1
  rotator account limit lab-account 6 --override`,
		Args: exactArgs(2, "NAME", "N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var n int
			if _, err := fmt.Sscan(args[1], &n); err != nil || n < 0 {
				return usagef("N must be a whole number >= 0, not %q", args[1])
			}
			return runAccountLimit(cmd.Context(), a, args[0], n, override)
		},
	}
	c.Flags().BoolVar(&override, "override", false, "allow more changes than the configured cap (audited)")
	return c
}

func runAccountLimit(ctx context.Context, a *app, name string, n int, override bool) error {
	s, cfg, _, err := a.openAccount(ctx, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if n > cfg.Rotation.MaxChangesPerDay && !override {
		return usagef("%d is above the configured cap of %d changes a day: pass --override (recorded in the audit log)", n, cfg.Rotation.MaxChangesPerDay)
	}
	if err := s.ChangeLimit(ctx, name, n, cfg.Rotation.MaxChangesPerDay, a.actor()); err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(a.stdout, "%s: back to the configured cap of %d changes a day\n", name, cfg.Rotation.MaxChangesPerDay)
	} else {
		fmt.Fprintf(a.stdout, "%s: at most %d changes in any 24 hours\n", name, n)
	}
	return nil
}
