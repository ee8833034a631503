package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/schedule"
)

func newScheduleCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "schedule",
		Short: "List every account's next run and what holds it back",
		Long: `schedule lists every account with its cron spec, state and next run. When
the cap (at most rotation.max_changes_per_day changes in any 24 hours) or the
minimum gap between changes delays a run past its cron time, it says until
when and why; so do a backoff after failures and a flag waiting for an
operator.`,
		Example: `  rotator schedule`,
		Args:    exactArgs(0),
		RunE:    func(cmd *cobra.Command, _ []string) error { return runSchedule(cmd.Context(), a) },
	}
}

func runSchedule(ctx context.Context, a *app) error {
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.ScheduleEntries(ctx)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(a.stderr, "no accounts yet: add one with `rotator account add`")
		return nil
	}
	policy := cfg.Rotation.Policy()
	plan, err := schedule.Plan(ctx, s, policy, entries, cfg.Schedule.Default, a.now())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT\tSCHEDULE\tSTATE\tNEXT RUN\tHELD BY")
	for _, u := range plan {
		held := u.Held
		if held == "" {
			held = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Spec, u.State, u.Next.Local().Format("2006-01-02 15:04 MST"), held)
	}
	return w.Flush()
}
