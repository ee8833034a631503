package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/demo"
)

type demoOptions struct {
	serve   bool
	addr    string
	timeout time.Duration
}

func newDemoCmd(a *app) *cobra.Command {
	var opts demoOptions
	c := &cobra.Command{
		Use:   "demo [--serve] [--data DIR]",
		Short: "Run the whole product against the demo site: four accounts, one flagged",
		Long: `demo starts the demo social site on loopback and a fresh vault (in a
temporary folder, removed at the end, or --data DIR) with four accounts: one
with a password only, one with TOTP, one with a two-step sign-in and TOTP,
and one that meets a CAPTCHA. It runs the scheduler as ` + "`rotator serve`" + ` does,
with a live table of each account's step, state and time, and exits 0 once
the three unattended accounts are rotated and their new passwords verified
on the site, printing a summary and where the flagged account waits. When
no rotation can run (no Chromium), it exits 1 at once with the reason.

With --serve it prints the console's address and a sign-in token first,
and keeps running once the accounts are done: open the flagged account's
live view, solve the CAPTCHA, press "Resolved, continue", and watch it
finish. Ctrl-C stops, at any time.`,
		Example: `  rotator demo
  rotator demo --serve
  rotator demo --data /tmp/rotator-demo`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), a, opts) },
	}
	f := c.Flags()
	f.BoolVar(&opts.serve, "serve", false, "keep running with the operator console, to resolve the flagged account live")
	f.StringVar(&opts.addr, "addr", "127.0.0.1:0", "console address with --serve (loopback; port 0: any free port)")
	f.DurationVar(&opts.timeout, "timeout", 3*time.Minute, "give up when the unattended accounts are not done by then")
	return c
}

func runDemo(ctx context.Context, a *app, opts demoOptions) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	// A fresh data directory: --data, else a temporary one.
	dir := a.dataFlag
	if dir == "" {
		if dir, err = os.MkdirTemp("", "rotator-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	demo.Configure(&cfg, dir, opts.addr, opts.serve)
	env, err := demo.Setup(ctx, cfg, a.actor(), a.now)
	if err != nil {
		return err
	}
	defer env.Close()
	return runDemoServer(ctx, a, opts, cfg, env)
}

// runDemoServer runs the scheduler as serve does until the demo's accounts
// are done, prints the table and the summary, and with --serve waits for
// the operator.
func runDemoServer(ctx context.Context, a *app, opts demoOptions, cfg config.Config, env *demo.Env) error {
	table := demo.NewTable(a.stdout, a.now)
	fmt.Fprintf(a.stdout, "demo site %s; vault %s; log %s\n\n", env.SiteURL, cfg.VaultPath(), env.LogPath)

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	sv, err := startServer(runCtx, a, env.Store, cfg, env.Logger, env.Follow)
	if err != nil {
		return err
	}
	running := make(chan struct{})
	go func() { sv.Run(runCtx); close(running) }()
	defer func() { stopRun(); <-running; sv.Stop() }()

	if opts.serve {
		// The console first: an operator can watch the rotations there, and
		// the flagged account's live view appears as soon as it is flagged.
		fmt.Fprintf(a.stdout, "console:  %s\ntoken:    %s\n\n", sv.URL, env.Token)
	}
	flagged, err := env.Finish(ctx, opts.timeout, table)
	if err != nil {
		if opts.serve && ctx.Err() != nil {
			return nil // Ctrl-C before the demo was done: the operator stopped it
		}
		return err
	}
	if !opts.serve {
		fmt.Fprintf(a.stdout, "\n%s is flagged for an operator: %s\n", flagged.Name, flagged.Reason)
		if a.dataFlag != "" {
			fmt.Fprintf(a.stdout, "It waits in the flags queue: `rotator flags --data %s`. ", a.dataFlag)
		}
		fmt.Fprintln(a.stdout, "Run `rotator demo --serve` to resolve it live in the operator console.")
		return nil
	}
	fmt.Fprintf(a.stdout, "\n%s waits for an operator: %s\n\n", flagged.Name, flagged.Reason)
	fmt.Fprintf(a.stdout, "Sign in to the console above, open Flags, then %s's live view: tick the box, type the word,\npress \"Resolved, continue\". The browser waits %v. Ctrl-C stops the demo.\n", flagged.Name, cfg.Console.KeepPaused)
	<-ctx.Done()
	return nil
}
