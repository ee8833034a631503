package main

import (
	"context"
	"fmt"

	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// runVerifyAll verifies every account and prints, per template, how each
// step fared.
func runVerifyAll(ctx context.Context, a *app, s *store.Store, r *rotator.Rotator) error {
	r.OnStep = nil // the report says it all
	return r.VerifyAll(ctx, s,
		func(acct store.Account) { fmt.Fprintf(a.stderr, "verifying %s (%s)...\n", acct.Name, acct.Template) },
		func(h rotator.TemplateHealth) { h.Report(a.stdout) })
}
