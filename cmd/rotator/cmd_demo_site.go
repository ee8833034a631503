package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/demosite"
)

type demoSiteOptions struct {
	addr         string
	users        []string
	layout       string
	captchaAfter int
}

func newDemoSiteCmd(a *app) *cobra.Command {
	var opts demoSiteOptions
	c := &cobra.Command{
		Use:   "demo-site [--addr 127.0.0.1:PORT] [--user NAME:PASSWORD[:TOTPSECRET[:PERIOD]]]...",
		Short: "Serve the demo social site that the tests and the demo use",
		Long: `demo-site serves a small social site with one- and two-step sign-in, TOTP,
a trust-this-browser interstitial, a CAPTCHA, a change-password page with
rules and a daily limit, and two layouts (v1, v2). Users live in memory; seed
them with --user or create them through the admin API (loopback clients
only; see the README).`,
		Example: `  rotator demo-site --user alice:Alice-pass-1234 --user bob:Bob-pass-12345:JBSWY3DPEHPK3PXP
  curl -X PUT -d '{"layout":"v2"}' http://127.0.0.1:8080/admin/layout`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemoSite(cmd.Context(), a, opts) },
	}
	f := c.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringArrayVar(&opts.users, "user", nil, "a user NAME:PASSWORD[:TOTPSECRET[:PERIOD]] (repeatable; demo passwords only)")
	f.StringVar(&opts.layout, "layout", "v1", "layout to start with: v1, v2, or a real site's markup: "+strings.Join(demosite.Skins(), ", "))
	f.IntVar(&opts.captchaAfter, "captcha-after", 0, "put up the CAPTCHA after this many sign-ins from an untrusted browser (0: only for users with captcha set)")
	return c
}

func runDemoSite(ctx context.Context, a *app, opts demoSiteOptions) error {
	site := demosite.New(demosite.Options{CaptchaAfter: opts.captchaAfter})
	if err := site.SetLayout(opts.layout); err != nil {
		return usageError{err}
	}
	for _, u := range opts.users {
		spec, err := demosite.ParseUserFlag(u)
		if err != nil {
			return usagef("--user: %v", err)
		}
		if err := site.AddUser(spec); err != nil {
			return usageError{err}
		}
	}
	srv, err := demosite.Listen(opts.addr, site)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(a.stdout, "demo site on http://%s/ (layout %s, %d user(s)); admin API at /admin/ for loopback clients\n", srv.Addr, opts.layout, len(opts.users))
	return srv.Wait(ctx)
}
