package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

type templateFixOptions struct {
	file, account, flow, artifacts string
	accept                         int
	headful                        bool
}

func newTemplateFixCmd(a *app) *cobra.Command {
	var opts templateFixOptions
	c := &cobra.Command{
		Use:   "fix FILE --account NAME [--flow login|logout|verify|change] [--accept N]",
		Short: "Repair a template's broken selector from what the page offers",
		Long: `fix runs a flow of the template in FILE for an account, as template test does,
to its first failing step, and lists what the page offers instead, most
likely first. You pick one (or --accept N picks the Nth): fix writes its
selector into FILE as the step's first alternative, keeping every other
byte of the file (comments, layout, the old alternatives), runs the flow
again, and shows the change as a diff.

--flow change runs a real rotation, under the no-loss protocol and the rate
limit, like rotator rotate, before and after the repair.`,
		Example: `  rotator template fix ./my-site.yaml --account work
  rotator template fix ./my-site.yaml --account work --flow change --accept 1`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file = args[0]
			return runTemplateFix(cmd.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.account, "account", "", "account whose username, password and TOTP to use (required)")
	f.StringVar(&opts.flow, "flow", "login", "flow to repair: login, logout, verify, or change (a real rotation)")
	f.IntVar(&opts.accept, "accept", 0, "take the Nth candidate without asking")
	f.BoolVar(&opts.headful, "headful", false, "show the browser window")
	f.StringVar(&opts.artifacts, "artifacts", "", "folder for screenshots and pages (default: the account's artifacts in the data directory)")
	return c
}

func runTemplateFix(ctx context.Context, a *app, opts templateFixOptions) error {
	if opts.account == "" {
		return usagef("--account is required")
	}
	if _, err := rotator.TemplateTestFlows(opts.flow); err != nil && opts.flow != templates.FlowChange {
		return usagef("--flow %q: want login, logout, verify or change", opts.flow)
	}
	if opts.accept < 0 {
		return usagef("--accept %d: want a candidate's number", opts.accept)
	}
	old, err := os.ReadFile(opts.file)
	if err != nil {
		if tpl, _ := templates.Find(opts.file, ""); tpl != nil {
			return usagef("fix edits a template file, and %s is a shipped template: copy it into a file first", opts.file)
		}
		return err
	}
	s, cfg, acct, err := a.openAccount(ctx, opts.account)
	if err != nil {
		return err
	}
	defer s.Close()
	rot := a.newRotator(s, cfg, opts.headful)
	defer rot.Close()
	fixed, err := repair(ctx, a, rot, acct, opts, old)
	if string(fixed) != string(old) {
		fmt.Fprintf(a.stdout, "\n%s", udiff.Unified(opts.file, opts.file+" (fixed)", string(old), string(fixed)))
	}
	return err
}

// maxRepairs bounds the repairs of one run of fix: a template whose every
// step broke is better rewritten (template suggest).
const maxRepairs = 10

// repair runs the flow, repairs the step that fails and runs it again,
// until the flow passes, a step fails again after its repair, or nothing
// on the page looks like what a step wanted. It returns the file's text
// as it left it.
func repair(ctx context.Context, a *app, rot *rotator.Rotator, acct store.Account, opts templateFixOptions, text []byte) ([]byte, error) {
	var done []string // the steps repaired, "flow path"
	for {
		se, err := failingStep(ctx, a, rot, acct, opts)
		if err != nil || se == nil {
			return text, err
		}
		step := se.Flow + " step " + se.Path
		switch {
		case slices.Contains(done, step):
			return text, fmt.Errorf("%s still fails after its repair: fix it by hand at %s:%d:%d", step, opts.file, se.Step.Line, se.Step.Column)
		case len(done) == maxRepairs:
			return text, fmt.Errorf("%d steps repaired and %s fails too: rewrite the template (rotator template suggest helps)", maxRepairs, step)
		}
		fixed, err := applyCandidate(a, opts, text, se)
		if err != nil {
			return text, err
		}
		text = fixed
		done = append(done, step)
		fmt.Fprintf(a.stdout, "\nrunning the %s flow again\n", opts.flow)
	}
}

// failingStep runs the flow with the template in the file and returns the
// step that failed, after showing it and what the page offers instead; nil
// when the flow passed (and says so). Anything else that stops the run (a
// challenge, a refused rotation) is an error.
func failingStep(ctx context.Context, a *app, rot *rotator.Rotator, acct store.Account, opts templateFixOptions) (*browser.StepError, error) {
	tpl, diags := templates.LoadFile(opts.file)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	show := func(rep browser.StepReport) { fmt.Fprintln(a.stdout, rep.Line(false)) }
	var err error
	if opts.flow == templates.FlowChange {
		rot.OnStep = func(_ string, rep browser.StepReport) { show(rep) }
		rot.Templates = func(string) (*templates.Template, error) { return tpl, nil }
		var res rotator.Result
		if res, err = rot.Rotate(ctx, acct.Name); err == nil && res.Outcome != rotation.Succeeded {
			if res.Step == nil {
				return nil, fmt.Errorf("rotation %s: %s", res.Outcome, res.Reason)
			}
			err = res.Step
		}
	} else {
		err = rot.RunTemplateTest(ctx, rotator.TemplateTest{Account: acct.Name, Template: tpl, Flow: opts.flow,
			ArtifactDir: opts.artifacts, OnStep: show})
	}
	var se *browser.StepError
	if !errors.As(err, &se) {
		if err == nil {
			fmt.Fprintf(a.stdout, "ok: %s flow passed\n", opts.flow)
		}
		return nil, err
	}
	browser.Explain(a.stdout, se)
	return se, nil
}

// applyCandidate writes the chosen candidate's selector into the file as
// the failed step's first alternative and returns the file's new text.
func applyCandidate(a *app, opts templateFixOptions, old []byte, se *browser.StepError) ([]byte, error) {
	if len(se.Candidates) == 0 {
		return nil, fmt.Errorf("the page offers nothing like what %s step %s wanted: fix it by hand at %s:%d:%d",
			se.Flow, se.Path, opts.file, se.Step.Line, se.Step.Column)
	}
	n, err := pickCandidate(a, opts.accept, len(se.Candidates))
	if err != nil {
		return nil, err
	}
	c := se.Candidates[n-1]
	fixed, err := templates.PrependSelector(old, se.Step.Line, se.Step.Column, c.Selector)
	if err != nil {
		return nil, fmt.Errorf("%s:%d:%d: %w", opts.file, se.Step.Line, se.Step.Column, err)
	}
	if _, diags := templates.Parse(opts.file, fixed); diags.HasErrors() {
		return nil, fmt.Errorf("with %s the template does not validate (nothing written): %w", c.Selector, diags.Err())
	}
	if err := writeFileAtomic(opts.file, fixed); err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stdout, "\nwrote %s: %s step %s tries %s first\n", opts.file, se.Flow, se.Path, c.Selector)
	return fixed, nil
}

// pickCandidate is --accept, or the author's answer.
func pickCandidate(a *app, accept, count int) (int, error) {
	if accept > 0 {
		if accept > count {
			return 0, usagef("--accept %d: the page offers %d candidate(s)", accept, count)
		}
		return accept, nil
	}
	fmt.Fprintf(a.stdout, "use which candidate (1-%d)? ", count)
	line, err := a.in.Line("a candidate's number (or give --accept N)")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 1 || n > count {
		return 0, fmt.Errorf("%q is not a candidate's number (1-%d): nothing written", line, count)
	}
	return n, nil
}

// writeFileAtomic replaces path with data, keeping its mode: a crash leaves
// the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fix-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
