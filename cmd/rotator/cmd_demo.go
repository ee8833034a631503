package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/demo"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
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

With --serve it keeps running after that and prints the console's address
and a sign-in token: open the flagged account's live view, solve the
CAPTCHA, press "Resolved, continue", and watch it finish. Ctrl-C stops.`,
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
	// No Chromium on PATH: say so before anything starts. A configured
	// browser.bin is not looked up on PATH; if it is missing, the first
	// rotation says so and the demo stops.
	if cfg.Browser.Bin == "" {
		if _, err := browser.FindChromium(""); err != nil {
			return err
		}
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
	if _, err := os.Stat(cfg.VaultPath()); err == nil {
		return fmt.Errorf("%s already holds a vault: the demo needs a fresh data directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	site, siteURL, stopSite, err := demo.StartSite()
	if err != nil {
		return err
	}
	defer stopSite()
	key, err := secret.CreateKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return err
	}
	s, token, err := a.createVault(ctx, cfg, key)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := demo.Seed(ctx, site, s, siteURL, a.now)
	if err != nil {
		return err
	}
	return runDemoServer(ctx, a, opts, cfg, s, d, siteURL, token)
}

// runDemoServer runs the scheduler as serve does until the demo's accounts
// are done, prints the table and the summary, and with --serve waits for
// the operator.
func runDemoServer(ctx context.Context, a *app, opts demoOptions, cfg config.Config, s *store.Store, d *demo.Demo, siteURL, token string) error {
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewJSONHandler(logFile, nil))
	table := newDemoTable(a.stdout, a.now)
	start := a.now()
	fmt.Fprintf(a.stdout, "demo site %s; vault %s; log %s\n\n", siteURL, cfg.VaultPath(), logFile.Name())

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	sv, err := startServer(runCtx, a, s, cfg, logger, d.Follow)
	if err != nil {
		return err
	}
	running := make(chan struct{})
	go func() { sv.Run(runCtx); close(running) }()
	defer func() { stopRun(); <-running; sv.Stop() }()

	rows, err := d.Wait(ctx, opts.timeout, table.draw)
	if err != nil {
		return err
	}
	// Verified on the site: its password is the vault's new one.
	rows, ok, err := d.Check(ctx, rows)
	if err != nil {
		return err
	}
	table.summary(rows, a.now().Sub(start))
	if !ok {
		return errors.New("the demo did not complete: see the table above and " + logFile.Name())
	}
	flagged := demo.Flagged(rows)
	if !opts.serve {
		fmt.Fprintf(a.stdout, "\n%s is flagged for an operator: %s\n", flagged.Name, flagged.Reason)
		if a.dataFlag != "" {
			fmt.Fprintf(a.stdout, "It waits in the flags queue: `rotator flags --data %s`. ", a.dataFlag)
		}
		fmt.Fprintln(a.stdout, "Run `rotator demo --serve` to resolve it live in the operator console.")
		return nil
	}
	fmt.Fprintf(a.stdout, "\n%s waits for an operator: %s\n\n", flagged.Name, flagged.Reason)
	fmt.Fprintf(a.stdout, "console:  %s\ntoken:    %s\n\n", sv.URL, token)
	fmt.Fprintf(a.stdout, "Sign in, open Flags, then %s's live view: tick the box, type the word,\npress \"Resolved, continue\". The browser waits %v. Ctrl-C stops the demo.\n", flagged.Name, cfg.Console.KeepPaused)
	<-ctx.Done()
	return nil
}

// demoTable draws the live table: redrawn in place on a terminal, a line
// per change otherwise.
type demoTable struct {
	w    io.Writer
	now  func() time.Time
	tty  bool
	last map[string]string
	drew int
}

func newDemoTable(w io.Writer, now func() time.Time) *demoTable {
	t := &demoTable{w: w, now: now, last: map[string]string{}}
	if f, ok := w.(*os.File); ok {
		t.tty = term.IsTerminal(int(f.Fd()))
	}
	return t
}

func (t *demoTable) line(r demo.Row) string {
	el, took := r.Elapsed(t.now()), ""
	if el > 0 {
		took = fmt.Sprintf("%5.1fs", el.Seconds())
	}
	step := r.Step
	if len(step) > 34 {
		step = step[:34]
	}
	return fmt.Sprintf("%-7s %-34s %-10s %7s", r.Name, step, r.State, took)
}

func (t *demoTable) draw(rows []demo.Row) {
	header := fmt.Sprintf("%-7s %-34s %-10s %7s", "ACCOUNT", "STEP", "STATE", "ELAPSED")
	if t.tty {
		if t.drew > 0 {
			fmt.Fprintf(t.w, "\x1b[%dA", t.drew)
		}
		fmt.Fprintf(t.w, "\x1b[2K%s\n", header)
		for _, r := range rows {
			fmt.Fprintf(t.w, "\x1b[2K%s\n", t.line(r))
		}
		t.drew = len(rows) + 1
		return
	}
	if t.drew == 0 {
		fmt.Fprintln(t.w, header)
		t.drew = 1
	}
	// Not a terminal: a line when an account's state changes.
	for _, r := range rows {
		if t.last[r.Name] != r.State {
			t.last[r.Name] = r.State
			fmt.Fprintln(t.w, t.line(r))
		}
	}
}

func (t *demoTable) summary(rows []demo.Row, total time.Duration) {
	fmt.Fprintf(t.w, "\nsummary (%.1fs):\n", total.Seconds())
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b demo.Row) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range rows {
		fmt.Fprintf(t.w, "  %-6s %-16s %-10s %6.1fs  %s\n", r.Name, r.Kind, r.Outcome, r.Took.Seconds(), r.Site)
	}
}
