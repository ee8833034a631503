package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newHistoryCmd(a *app) *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "history NAME",
		Short: "Past rotations and the dates of password changes; no secrets",
		Example: `  rotator history demo
  rotator history demo --runs 50`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error { return runHistory(cmd.Context(), a, args[0], limit) },
	}
	c.Flags().IntVar(&limit, "runs", 20, "how many runs to show")
	return c
}

func runHistory(ctx context.Context, a *app, name string, limit int) error {
	s, _, acct, err := a.openAccount(ctx, name)
	if err != nil {
		return err
	}
	defer s.Close()
	hist, err := s.History(ctx, name)
	if err != nil {
		return err
	}
	runs, err := s.Runs(ctx, name, limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "account %s: state %s; current password set %s\n", name, acct.State, formatTime(acct.PasswordSetAt))
	fmt.Fprintln(a.stdout, "\npassword changes:")
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if len(hist) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, h := range hist {
		where := "vault edit"
		if h.ChangedOnSite {
			where = "on the site"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", formatTime(h.RetiredAt), where, h.Reason)
	}
	w.Flush()
	fmt.Fprintln(a.stdout, "\nruns:")
	w = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if len(runs) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, r := range runs {
		took := "-"
		if !r.FinishedAt.IsZero() {
			took = r.Took().Round(100 * time.Millisecond).String()
		}
		detail := r.Reason
		if r.ChallengeKind != "" {
			detail = r.ChallengeKind + " at " + r.ChallengeURL
		}
		if r.Outcome == "running" && r.FinishedAt.IsZero() {
			detail = "did not finish (the process stopped); recovery runs before the next rotation"
		}
		fmt.Fprintf(w, "  #%d\t%s\t%s\t%s\t%s\t%d steps\t%s\n", r.ID, formatTime(r.StartedAt), r.Kind, r.Outcome, took, len(r.Steps), detail)
	}
	return w.Flush()
}

func newFlagsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "flags",
		Short:   "Accounts waiting for an operator, with reason and age",
		Example: `  rotator flags`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			flags, err := s.Flags(cmd.Context())
			if err != nil {
				return err
			}
			if len(flags) == 0 {
				fmt.Fprintln(a.stderr, "no account waits for an operator")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ACCOUNT\tSTATE\tAGE\tREASON")
			for _, f := range flags {
				age := "-"
				if !f.FlaggedAt.IsZero() {
					age = a.now().Sub(f.FlaggedAt).Round(time.Second).String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Account, f.State, age, f.Reason)
			}
			return w.Flush()
		},
	}
}

func newAuditCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:     "audit",
		Short:   "Check the audit log",
		Example: `  rotator audit verify`,
	}
	groupCommand(c)
	c.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain; name the first entry altered or removed",
		Long: `verify walks the audit log's chain: every entry carries an HMAC, under a key
derived from the master key, over its content and the previous entry's HMAC.
The chain's head (how many entries, the last one's hash), sealed with the
same key, is kept with every entry, so removing the last entries, the first
ones or all of them is caught too. It names the first entry that was
altered, removed, or added by hand, and exits 1 if there is one.`,
		Example: `  rotator audit verify`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.CheckAudit(cmd.Context())
			if err != nil {
				return fmt.Errorf("audit log broken after %d good entries: %w", st.Entries, err)
			}
			fmt.Fprintf(a.stdout, "audit log: %d entries, chain intact\n", st.Entries)
			if st.HeadRecorded {
				fmt.Fprintln(a.stdout, "note: the vault had no sealed chain head (an earlier rotator, or an empty log); one is recorded now, and from here on removed entries are caught")
			}
			return nil
		},
	})
	return c
}
