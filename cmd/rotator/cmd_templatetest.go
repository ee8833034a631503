package main

import (
	"context"
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
	defer rot.Close()
	if opts.flow == templates.FlowChange {
		// Changing the password is a rotation: the no-loss protocol, the
		// rate limit and the records all apply.
		rot.OnStep = func(_ string, rep browser.StepReport) { fmt.Fprintln(a.stdout, rep.Line(false)) }
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
		OnStep: func(rep browser.StepReport) { fmt.Fprintln(a.stdout, rep.Line(false)) }})
	if err != nil {
		browser.Explain(a.stdout, err)
		return err
	}
	fmt.Fprintf(a.stdout, "ok: %s flow passed\n", opts.flow)
	return nil
}
