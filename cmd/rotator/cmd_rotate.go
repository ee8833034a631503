package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// Exit codes of rotate.
const (
	exitPaused  = 3
	exitRefused = 4
)

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// newRotator wires a rotator as the configuration says, with progress and
// Chromium's warnings on stderr.
func (a *app) newRotator(s *store.Store, cfg config.Config, headful bool) *rotator.Rotator {
	r := rotator.FromConfig(cfg, s, rotator.Wiring{Headful: headful, Now: a.now, Actor: a.actor(),
		BrowserLogger: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	r.OnStep = func(_ string, rep browser.StepReport) { fmt.Fprintln(a.stderr, rep.Line(true)) }
	r.OnEvent = func(account, msg string) { fmt.Fprintf(a.stderr, "%s: %s\n", account, msg) }
	return r
}

// report prints a result on stdout and returns the error that sets the exit
// code.
func report(a *app, name, what string, res rotator.Result) error {
	switch res.Outcome {
	case rotation.Succeeded:
		msg := what + " succeeded"
		if res.Recovered.Ran() {
			msg += " (recovery: " + res.Recovered.String() + ")"
		}
		fmt.Fprintf(a.stdout, "%s: %s (run %d)\n", name, msg, res.RunID)
		return nil
	case rotation.Paused:
		fmt.Fprintf(a.stdout, "%s: paused for an operator: %s (run %d)\n", name, res.Reason, res.RunID)
		if res.Challenge != nil && res.Challenge.Screenshot != "" {
			fmt.Fprintf(a.stdout, "screenshot: %s\n", res.Challenge.Screenshot)
		}
		return exitError{exitPaused, fmt.Errorf("%s paused for an operator (%s challenge)", name, res.Challenge.Kind)}
	case rotation.Refused:
		fmt.Fprintf(a.stdout, "%s: refused: %s\n", name, res.Reason)
		if !res.NextAllowed.IsZero() {
			fmt.Fprintf(a.stdout, "next change allowed at %s\n", res.NextAllowed.Local().Format("2006-01-02 15:04:05 MST"))
			return exitError{exitRefused, fmt.Errorf("%s: rate limited until %s", name, res.NextAllowed.Local().Format("2006-01-02 15:04:05 MST"))}
		}
		return fmt.Errorf("%s: %s", name, res.Reason)
	case rotation.Deferred:
		fmt.Fprintf(a.stdout, "%s: %s deferred: %s (recovery: %s; run %d)\n", name, what, res.Reason, res.Recovered.String(), res.RunID)
		return fmt.Errorf("%s: %s deferred: run it again", name, what)
	case rotation.NeedsOperator:
		fmt.Fprintf(a.stdout, "%s: needs an operator: %s (run %d)\n", name, res.Reason, res.RunID)
		explainStep(a, res)
		return fmt.Errorf("%s needs an operator", name)
	}
	fmt.Fprintf(a.stdout, "%s: %s failed: %s (run %d)\n", name, what, res.Reason, res.RunID)
	explainStep(a, res)
	return fmt.Errorf("%s: %s failed", name, what)
}

// explainStep shows, after a run that ended on a failed step in any flow,
// which step, where in the template, the page, the files saved and what
// the page offers instead.
func explainStep(a *app, res rotator.Result) {
	if res.Step != nil {
		browser.Explain(a.stdout, res.Step)
	}
}

type rotateOptions struct {
	name    string
	headful bool
}

func newRotateCmd(a *app) *cobra.Command {
	var opts rotateOptions
	c := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Change an account's password on its site now",
		Long: `rotate changes the account's password: it locks the account, recovers any
unfinished rotation, signs in, stores a new password as pending (encrypted,
synced) before the change form is touched, changes it, signs in with it, and
only then makes it current. Progress goes to stderr, the outcome to stdout.

Exit codes: 0 succeeded, 3 paused for an operator (a CAPTCHA or trust
prompt), 4 refused by the rate limit (with the time the next change is
allowed), 1 failed.`,
		Example: `  rotator rotate demo`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRotate(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVar(&opts.headful, "headful", false, "show the browser window")
	return c
}

func runRotate(ctx context.Context, a *app, opts rotateOptions) error {
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	r := a.newRotator(s, cfg, opts.headful)
	defer r.Close()
	res, err := r.Rotate(ctx, opts.name)
	if err != nil {
		return err
	}
	return report(a, opts.name, "rotation", res)
}

type verifyOptions struct {
	name    string
	all     bool
	headful bool
}

func newVerifyCmd(a *app) *cobra.Command {
	var opts verifyOptions
	c := &cobra.Command{
		Use:   "verify NAME | --all",
		Short: "Sign in with the current password; change nothing",
		Long: `verify is a health check: it signs in with the account's current password
and changes nothing. If an unfinished rotation left a pending password, it
recovers first: it signs in with the pending, the current and the previous
passwords, in that order, and makes the one that works current.

--all signs in to every account, one after the other, and reports per
template which steps passed and which selector alternative matched each
step, so a site's redesign shows up before the next scheduled change fails.
A step that only its second or later alternative found is marked: the page
may have changed. It exits 1 if any account did not sign in.`,
		Example: `  rotator verify demo
  rotator verify --all`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.all {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1, "NAME")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !opts.all {
				opts.name = args[0]
			}
			return runVerify(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVar(&opts.headful, "headful", false, "show the browser window")
	c.Flags().BoolVar(&opts.all, "all", false, "verify every account and report per template")
	return c
}

func runVerify(ctx context.Context, a *app, opts verifyOptions) error {
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	r := a.newRotator(s, cfg, opts.headful)
	defer r.Close()
	if opts.all {
		return runVerifyAll(ctx, a, s, r)
	}
	res, err := r.Verify(ctx, opts.name)
	if err != nil {
		return err
	}
	return report(a, opts.name, "verification", res)
}
