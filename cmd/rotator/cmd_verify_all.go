package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rotator-pam/rotator/internal/clip"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// runVerifyAll verifies every account and prints, per template, how each
// step fared.
func runVerifyAll(ctx context.Context, a *app, s *store.Store, r *rotator.Rotator) error {
	r.OnStep = nil // the report says it all
	return r.VerifyAll(ctx, s,
		func(acct store.Account) { fmt.Fprintf(a.stderr, "verifying %s (%s)...\n", acct.Name, acct.Template) },
		func(h rotator.TemplateHealth) { printTemplateHealth(a, h) })
}

func printTemplateHealth(a *app, h rotator.TemplateHealth) {
	fmt.Fprintf(a.stdout, "template %s: %d of %d account(s) signed in\n", h.Template, h.SignedIn, h.Accounts)
	for _, st := range h.Steps {
		status := "ok"
		if st.Failed > 0 {
			status = "FAILED"
		}
		var m []string
		for sel, n := range st.Matched {
			m = append(m, fmt.Sprintf("%s x%d", sel, n))
		}
		sort.Strings(m)
		line := fmt.Sprintf("  %-6s %-9s %-45s %d/%d %s", st.Flow, st.Path, clip.String(st.Desc, 45), st.OK, st.OK+st.Failed, status)
		if len(m) > 0 {
			line += "  matched " + strings.Join(m, ", ")
		}
		if st.Late {
			line += "  <- not the first alternative: the page may have changed"
		}
		fmt.Fprintln(a.stdout, line)
	}
	for _, r := range h.Results {
		fmt.Fprintln(a.stdout, "  "+r.Account+": "+r.Status)
	}
}
