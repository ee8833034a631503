package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/templates"
)

type templateTestOptions struct {
	template  string
	account   string
	flow      string
	headful   bool
	artifacts string
}

func newTemplateTestCmd(a *app) *cobra.Command {
	var opts templateTestOptions
	c := &cobra.Command{
		Use:   "test TEMPLATE --account NAME [--flow login|logout|verify|change] [--headful]",
		Short: "Run one flow of a template against the site and show every step",
		Long: `test runs a flow of TEMPLATE (a shipped template's name, a name in
templates.dir, or a file) for an account of the vault, in the account's own
browser profile, and prints every step: number, kind, which selector
alternative matched, duration, ok or failed. On a failure it prints the step,
why, the saved screenshot and page, and the elements on the page that look
like what the step wanted, as selectors ready to paste.

login (the default) signs in; logout signs in and out; verify signs in, then
runs the verify flow (or logout and login again). None of them changes a
password. change does: it runs a whole rotation with this template, under
the no-loss protocol and the rate limit, like rotator rotate.`,
		Example: `  rotator template test demo-social --account demo
  rotator template test ./my-site.yaml --account work --headful`,
		Args: exactArgs(1, "TEMPLATE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.template = args[0]
			return runTemplateTest(cmd.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.account, "account", "", "account whose username, password and TOTP to use (required)")
	f.StringVar(&opts.flow, "flow", "login", "flow to run: login, logout, verify, or change (a real rotation)")
	f.BoolVar(&opts.headful, "headful", false, "show the browser window")
	f.StringVar(&opts.artifacts, "artifacts", "", "folder for screenshots and pages (default: the account's artifacts in the data directory)")
	return c
}

func runTemplateTest(ctx context.Context, a *app, opts templateTestOptions) error {
	if opts.account == "" {
		return usagef("--account is required")
	}
	if _, err := rotator.TemplateTestFlows(opts.flow); err != nil && opts.flow != templates.FlowChange {
		return usagef("--flow %q: want login, logout, verify or change", opts.flow)
	}
	s, cfg, acct, err := a.openAccount(ctx, opts.account)
	if err != nil {
		return err
	}
	defer s.Close()
	tpl, diags := templates.Find(opts.template, cfg.Templates.Dir)
	for _, d := range diags {
		if d.Warning {
			fmt.Fprintln(a.stderr, d.String())
		}
	}
	if err := diags.Err(); err != nil {
		return err
	}
	rot := a.newRotator(s, cfg, opts.headful)
	if opts.flow == templates.FlowChange {
		// Changing the password is a rotation: the no-loss protocol, the
		// rate limit and the records all apply.
		rot.OnStep = func(_ string, rep browser.StepReport) { printStep(a.stdout, rep, false) }
		rot.Templates = func(string) (*templates.Template, error) { return tpl, nil }
		fmt.Fprintf(a.stdout, "template %s, account %s (%s): rotating the password\n", tpl.Name, acct.Name, acct.Username)
		res, err := rot.Rotate(ctx, acct.Name)
		if err != nil {
			return err
		}
		return report(a, acct.Name, "rotation", res)
	}
	err = rot.RunTemplateTest(ctx, rotator.TemplateTest{Account: acct.Name, Template: tpl, Flow: opts.flow, ArtifactDir: opts.artifacts,
		Ready:  func() { fmt.Fprintf(a.stdout, "template %s, account %s (%s)\n", tpl.Name, acct.Name, acct.Username) },
		OnFlow: func(flow string) { fmt.Fprintf(a.stdout, "%s flow\n", flow) },
		OnStep: func(rep browser.StepReport) { printStep(a.stdout, rep, false) }})
	if err != nil {
		return explainFailure(a, err)
	}
	fmt.Fprintf(a.stdout, "ok: %s flow passed\n", opts.flow)
	return nil
}

// explainFailure prints what a template author needs after a failed step
// and returns the error.
func explainFailure(a *app, err error) error {
	var se *browser.StepError
	var ce *browser.ChallengeError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(a.stdout, "\nchallenge: %s (%s) at %s after %s step %s\n", ce.Kind, ce.Name, ce.URL, ce.Flow, ce.Step)
		if ce.Screenshot != "" {
			fmt.Fprintf(a.stdout, "screenshot: %s\n", ce.Screenshot)
		}
		fmt.Fprintln(a.stdout, "A person must get past it (the console will let an operator do so); rotator never guesses.")
	case errors.As(err, &se):
		fmt.Fprintf(a.stdout, "\nfailed: %s step %s, %s\n", se.Flow, se.Path, se.Step.Describe())
		if se.File != "" {
			fmt.Fprintf(a.stdout, "where:  %s:%d:%d\n", se.File, se.Step.Line, se.Step.Column)
		}
		fmt.Fprintf(a.stdout, "why:    %v\n", se.Err)
		fmt.Fprintf(a.stdout, "page:   %s\n", se.URL)
		for _, p := range se.Artifacts {
			fmt.Fprintf(a.stdout, "saved:  %s\n", p)
		}
		if len(se.Candidates) > 0 {
			fmt.Fprintln(a.stdout, "the page offers instead:")
			for _, c := range se.Candidates {
				fmt.Fprintf(a.stdout, "  %-40s %s\n", fmt.Sprintf("%q", c.Selector), c.Why)
			}
		}
	}
	return err
}
