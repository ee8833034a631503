package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/importer"
	"github.com/rotator-pam/rotator/internal/weburl"
)

type templateSuggestOptions struct {
	target  string
	headful bool
}

func newTemplateSuggestCmd(a *app) *cobra.Command {
	var opts templateSuggestOptions
	c := &cobra.Command{
		Use:   "suggest URL|FILE",
		Short: "Propose selectors for a page's sign-in or change-password form",
		Long: `suggest opens the page in Chromium (a fresh profile, nothing signed in) and
proposes selectors for the username, the password, the current password, the
new password and its confirmation, a one-time code and the submit control,
each with a confidence from 0 to 1 and what gave it away, as a template
fragment ready to edit: a login flow for a sign-in form, a change flow for a
change-password form. The same detector gives the candidates that
` + "`rotator template test`" + ` shows after a failed step.

A FILE is a saved page (.html); it is opened as it is.`,
		Example: `  rotator template suggest https://example.com/login
  rotator template suggest saved-login-page.html >> my-site.yaml`,
		Args: exactArgs(1, "URL|FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.target = args[0]
			return runTemplateSuggest(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVar(&opts.headful, "headful", false, "show the browser window")
	return c
}

func runTemplateSuggest(ctx context.Context, a *app, opts templateSuggestOptions) error {
	// A saved page is read here and handed to the page as its document.
	html := ""
	if !weburl.Is(opts.target) {
		data, ferr := os.ReadFile(opts.target)
		if ferr != nil {
			if errors.Is(ferr, fs.ErrNotExist) {
				return usagef("%s is neither an http(s) URL nor a file", opts.target)
			}
			return ferr
		}
		html = string(data)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	fields, err := browser.DetectPage(ctx, browser.Options{Bin: cfg.Browser.Bin, User: cfg.Browser.User, Headful: opts.headful}, opts.target, html)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return fmt.Errorf("no sign-in or password field found on %s", opts.target)
	}
	fmt.Fprintf(a.stderr, "%-17s %-5s %-40s %s\n", "FIELD", "CONF", "SELECTOR", "WHY")
	for _, f := range fields {
		sel := ""
		if len(f.Selectors) > 0 {
			sel = f.Selectors[0]
		}
		fmt.Fprintf(a.stderr, "%-17s %.2f  %-40s %s\n", strings.ReplaceAll(f.Role, "_", " "), f.Score, sel, f.Why)
	}
	out, err := importer.Suggest(opts.target, fields, a.now())
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}
