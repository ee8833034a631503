package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
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

// demoAccount is one account of the demo.
type demoAccount struct {
	name, kind string
	spec       demosite.UserSpec
	flagged    bool // meets a challenge: waits for an operator
}

var demoAccounts = []demoAccount{
	{name: "alice", kind: "password"},
	{name: "bob", kind: "password + TOTP"},
	{name: "carol", kind: "two-step + TOTP"},
	{name: "dora", kind: "CAPTCHA", flagged: true},
}

func runDemo(ctx context.Context, a *app, opts demoOptions) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	// No Chromium on PATH: say so before anything starts. A configured
	// browser.bin is not looked up on PATH; if it is missing, the first
	// rotation says so and the demo stops (permanentFailures).
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
	cfg.DataDir, cfg.MasterKeyFile = dir, filepath.Join(dir, "master.key")
	if _, err := os.Stat(cfg.VaultPath()); err == nil {
		return fmt.Errorf("%s already holds a vault: the demo needs a fresh data directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Three browsers at once against a site of our own; no jitter, no
	// waiting: the demo shows a day's work in a minute.
	cfg.Serve.Addr, cfg.Serve.PerSite, cfg.Serve.MaxConcurrent = opts.addr, 3, 3
	cfg.Schedule.Jitter, cfg.Schedule.Default = 0, "@daily"
	cfg.Serve.ShutdownTimeout = 10 * time.Second
	if !opts.serve {
		cfg.Console.MaxHeld = 0 // nobody will come: the CAPTCHA flags at once
	}

	site := demosite.New(demosite.Options{ChangesPerDay: 2})
	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	siteSrv := &http.Server{Handler: site.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go siteSrv.Serve(siteLn)
	defer siteSrv.Close()
	siteURL := "http://" + siteLn.Addr().String() + "/"

	key, err := secret.CreateKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return err
	}
	s, token, err := a.createVault(ctx, cfg, key)
	if err != nil {
		return err
	}
	defer s.Close()
	tpl, diags := templates.Find("demo-social", "")
	if err := diags.Err(); err != nil {
		return err
	}
	for i := range demoAccounts {
		d := &demoAccounts[i]
		pw, err := rotator.GeneratePassword(tpl.Rules, nil)
		if err != nil {
			return err
		}
		d.spec = demosite.UserSpec{Name: d.name, Password: pw.Reveal(), TwoStep: d.name == "carol", Captcha: d.flagged}
		acct := store.NewAccount{Account: store.Account{Name: d.name, Template: "demo-social", Username: d.name, SiteURL: siteURL},
			Password: pw}
		if strings.Contains(d.kind, "TOTP") {
			raw := make([]byte, 20)
			rand.Read(raw)
			d.spec.TOTPSecret = base32.StdEncoding.EncodeToString(raw)
			k, err := otp.ParseSecret(d.spec.TOTPSecret)
			if err != nil {
				return err
			}
			acct.TOTP = &store.TOTP{Key: k}
		}
		if err := site.AddUser(d.spec); err != nil {
			return err
		}
		if err := s.AddAccount(ctx, acct); err != nil {
			return err
		}
		// Due now, not tomorrow.
		if err := s.SetNextDue(ctx, d.name, a.now(), 0, ""); err != nil {
			return err
		}
	}

	logFile, err := os.OpenFile(filepath.Join(dir, "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewJSONHandler(logFile, nil))
	prog := newDemoProgress(a.stdout, a.now)
	start := a.now()
	fmt.Fprintf(a.stdout, "demo site %s; vault %s; log %s\n\n", siteURL, cfg.VaultPath(), logFile.Name())

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	// A rotation that fails for a reason no retry cures (no Chromium)
	// ends the demo at once, with the reason.
	fatal := make(chan error, 1)
	sv, err := startServer(runCtx, a, s, cfg, logger, func(r *rotator.Rotator) {
		r.OnStep = prog.step
		r.OnEvent = prog.event
		r.Opener = permanentFailures{Opener: r.Opener, fatal: fatal}
	})
	if err != nil {
		return err
	}
	running := make(chan struct{})
	go func() { sv.Run(runCtx); close(running) }()
	stop := func() { stopRun(); <-running; sv.Stop() }

	results, err := prog.watch(ctx, s, opts.timeout, fatal)
	if err != nil {
		stop()
		return err
	}
	// Verified on the site: its password is the vault's new one.
	ok := true
	for _, d := range demoAccounts {
		r := results[d.name]
		st, _ := site.User(d.name)
		cur, err := s.Password(ctx, d.name)
		if err != nil {
			stop()
			return err
		}
		switch {
		case d.flagged:
			r.site = "password unchanged, as it must be"
			if st.Password != cur.Reveal() || st.ChangesToday != 0 {
				r.site, ok = "the site and the vault disagree", false
			}
		case r.outcome != "succeeded":
			ok = false
		case st.Password == cur.Reveal() && st.Password != d.spec.Password && st.ChangesToday == 1:
			r.site = "new password verified on the site"
		default:
			r.site, ok = "the site does not hold the vault's password", false
		}
		results[d.name] = r
	}
	prog.summary(results, a.now().Sub(start))

	if !ok {
		stop()
		return errors.New("the demo did not complete: see the table above and " + logFile.Name())
	}
	flagged := results["dora"]
	if !opts.serve {
		fmt.Fprintf(a.stdout, "\ndora is flagged for an operator: %s\n", flagged.reason)
		if a.dataFlag != "" {
			fmt.Fprintf(a.stdout, "It waits in the flags queue: `rotator flags --data %s`. ", a.dataFlag)
		}
		fmt.Fprintln(a.stdout, "Run `rotator demo --serve` to resolve it live in the operator console.")
		stop()
		return nil
	}
	fmt.Fprintf(a.stdout, "\ndora waits for an operator: %s\n\n", flagged.reason)
	fmt.Fprintf(a.stdout, "console:  %s\ntoken:    %s\n\n", sv.URL, token)
	fmt.Fprintf(a.stdout, "Sign in, open Flags, then dora's live view: tick the box, type the word,\npress \"Resolved, continue\". The browser waits %v. Ctrl-C stops the demo.\n", cfg.Console.KeepPaused)
	<-ctx.Done()
	stop()
	return nil
}

// demoRow is one account's line of the progress table.
type demoRow struct {
	step    string
	state   string
	started time.Time
	took    time.Duration
	outcome string
	reason  string
	site    string
}

// demoProgress draws the live table: redrawn in place on a terminal, a
// line per change otherwise.
type demoProgress struct {
	w    io.Writer
	now  func() time.Time
	tty  bool
	mu   sync.Mutex
	rows map[string]*demoRow
	last map[string]string
	drew int
}

func newDemoProgress(w io.Writer, now func() time.Time) *demoProgress {
	p := &demoProgress{w: w, now: now, rows: map[string]*demoRow{}, last: map[string]string{}}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	for _, d := range demoAccounts {
		p.rows[d.name] = &demoRow{state: "queued"}
	}
	return p
}

func (p *demoProgress) step(account string, rep browser.StepReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.rows[account]
	if !ok {
		return
	}
	if r.started.IsZero() {
		r.started = p.now().Add(-rep.Duration)
	}
	if r.state == "queued" {
		r.state = "running"
	}
	desc := string(rep.Step.Kind)
	if desc == "" {
		desc = rep.Note
	}
	r.step = fmt.Sprintf("%s %s %s", rep.Flow, rep.Path, desc)
}

func (p *demoProgress) event(account, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.rows[account]; ok && strings.HasPrefix(msg, "paused") {
		r.state = "paused"
	}
}

// permanentFailures passes on the sessions of an Opener, and reports to
// fatal the first failure to open one that no retry will cure.
type permanentFailures struct {
	rotator.Opener
	fatal chan<- error
}

func (o permanentFailures) Open(ctx context.Context, acct store.Account, tpl *templates.Template, hooks rotator.Hooks) (rotator.Session, error) {
	sess, err := o.Opener.Open(ctx, acct, tpl, hooks)
	if errors.Is(err, browser.ErrNoChromium) {
		select {
		case o.fatal <- err:
		default:
		}
	}
	return sess, err
}

// watch follows the vault until every unattended account finished its
// rotation and the flagged one is paused, drawing the table. An error on
// fatal ends it at once.
func (p *demoProgress) watch(ctx context.Context, s *store.Store, timeout time.Duration, fatal <-chan error) (map[string]demoRow, error) {
	deadline := p.now().Add(timeout)
	for {
		done := true
		for _, d := range demoAccounts {
			runs, err := s.Runs(ctx, d.name, 1)
			if err != nil {
				return nil, err
			}
			p.mu.Lock()
			r := p.rows[d.name]
			if len(runs) > 0 && runs[0].Kind == "rotate" && runs[0].Outcome != "running" {
				r.outcome, r.reason, r.state = string(runs[0].Outcome), runs[0].Reason, string(runs[0].Outcome)
				if !runs[0].FinishedAt.IsZero() {
					r.took = runs[0].FinishedAt.Sub(runs[0].StartedAt)
				}
			}
			if r.outcome == "" || (d.flagged && r.outcome != "paused") {
				done = false
			}
			p.mu.Unlock()
		}
		p.draw()
		if done {
			return p.snapshot(), nil
		}
		if p.now().After(deadline) {
			return p.snapshot(), fmt.Errorf("the demo did not finish within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-fatal:
			p.draw()
			return nil, fmt.Errorf("the demo cannot rotate: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (p *demoProgress) snapshot() map[string]demoRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]demoRow{}
	for k, r := range p.rows {
		out[k] = *r
	}
	return out
}

func (p *demoProgress) line(name string, r *demoRow) string {
	el := r.took
	if el == 0 && !r.started.IsZero() {
		el = p.now().Sub(r.started)
	}
	t := ""
	if el > 0 {
		t = fmt.Sprintf("%5.1fs", el.Seconds())
	}
	step := r.step
	if len(step) > 34 {
		step = step[:34]
	}
	return fmt.Sprintf("%-7s %-34s %-10s %7s", name, step, r.state, t)
}

func (p *demoProgress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	header := fmt.Sprintf("%-7s %-34s %-10s %7s", "ACCOUNT", "STEP", "STATE", "ELAPSED")
	if p.tty {
		if p.drew > 0 {
			fmt.Fprintf(p.w, "\x1b[%dA", p.drew)
		}
		fmt.Fprintf(p.w, "\x1b[2K%s\n", header)
		for _, d := range demoAccounts {
			fmt.Fprintf(p.w, "\x1b[2K%s\n", p.line(d.name, p.rows[d.name]))
		}
		p.drew = len(demoAccounts) + 1
		return
	}
	if p.drew == 0 {
		fmt.Fprintln(p.w, header)
		p.drew = 1
	}
	// Not a terminal: a line when an account's state changes.
	for _, d := range demoAccounts {
		r := p.rows[d.name]
		if p.last[d.name] != r.state {
			p.last[d.name] = r.state
			fmt.Fprintln(p.w, p.line(d.name, r))
		}
	}
}

func (p *demoProgress) summary(results map[string]demoRow, total time.Duration) {
	fmt.Fprintf(p.w, "\nsummary (%.1fs):\n", total.Seconds())
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	kinds := map[string]string{}
	for _, d := range demoAccounts {
		kinds[d.name] = d.kind
	}
	for _, n := range names {
		r := results[n]
		fmt.Fprintf(p.w, "  %-6s %-16s %-10s %6.1fs  %s\n", n, kinds[n], r.outcome, r.took.Seconds(), r.site)
	}
}
