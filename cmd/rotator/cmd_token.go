package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/console"
)

func newTokenCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:     "token",
		Short:   "Manage the operator console's access token",
		Example: `  rotator token new`,
	}
	groupCommand(c)
	c.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Replace the console access token and print the new one",
		Long: `token new creates a new access token for the operator console, prints it once,
and keeps only its hash in the vault. The old token stops working at once,
and every console session signed in with it ends. The change is audited.`,
		Example: `  rotator token new`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenNew(cmd.Context(), a)
		},
	})
	return c
}

func runTokenNew(ctx context.Context, a *app) error {
	s, _, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	token, hash := console.NewToken()
	if err := s.SetConsoleToken(ctx, hash, a.actor()); err != nil {
		return err
	}
	printToken(a, token)
	return nil
}

// printToken shows a new token once; the vault keeps only its hash.
func printToken(a *app, token string) {
	fmt.Fprintf(a.stdout, "console token:  %s\n", token)
	fmt.Fprintln(a.stdout, "Sign in to the console (rotator serve) with this token. It is shown once; `rotator token new` replaces it.")
}
