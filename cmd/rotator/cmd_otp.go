package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/internal/term"
	"github.com/rotator-pam/rotator/otp"
)

type otpOptions struct {
	name  string
	next  bool
	watch bool
}

func newOTPCmd(a *app) *cobra.Command {
	var opts otpOptions
	c := &cobra.Command{
		Use:   "otp NAME [--next] [--watch]",
		Short: "Print the account's current TOTP code and the seconds it stays valid",
		Long: `otp prints the account's current TOTP code; the first line starts with the
code, followed by the seconds it stays valid. --next adds the next window's
code on a second line, for when the current one is about to expire. --watch
redraws every second with a countdown until interrupted.

Codes shown here are marked as used in the vault, so rotator's own logins
never submit a code that a person may have typed elsewhere.`,
		Example: `  rotator otp demo
  rotator otp demo --next
  rotator otp demo --watch`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runOTP(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVar(&opts.next, "next", false, "also print the next window's code")
	c.Flags().BoolVarP(&opts.watch, "watch", "w", false, "redraw every second with a countdown until interrupted")
	return c
}

func runOTP(ctx context.Context, a *app, opts otpOptions) error {
	s, _, acct, err := a.openAccount(ctx, opts.name)
	if err != nil {
		return err
	}
	defer s.Close()
	if acct.TOTP == nil {
		return fmt.Errorf("account %s has no TOTP secret", opts.name)
	}
	shown := &otp.Shown{Account: opts.name, Key: acct.TOTP.Key, Guard: s, WithNext: opts.next}
	if !opts.watch {
		now := a.now()
		cur, next, err := shown.At(ctx, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s %ds\n", cur.Code.Reveal(), cur.SecondsLeft(now))
		if opts.next {
			fmt.Fprintf(a.stdout, "%s next, valid from %s\n", next.Code.Reveal(), next.Start.Local().Format("15:04:05"))
		}
		return nil
	}
	tty := term.IsTerminal(a.stdout)
	err = shown.Watch(ctx, a.now, func(cur, next otp.Token, now time.Time) {
		line := watchLine(cur, next, acct.TOTP.Key.Period, now, opts.next)
		if tty {
			fmt.Fprintf(a.stdout, "\r\x1b[2K%s", line)
		} else {
			fmt.Fprintln(a.stdout, line)
		}
	})
	if err == nil && tty {
		fmt.Fprintln(a.stdout)
	}
	return err
}

// watchLine is the code, the seconds it stays valid and a bar that empties
// with them, and the next code when asked.
func watchLine(cur, next otp.Token, period time.Duration, now time.Time, withNext bool) string {
	left := cur.SecondsLeft(now)
	const width = 30
	filled := left * width / int(period/time.Second)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	line := fmt.Sprintf("%s %2ds [%s]", cur.Code.Reveal(), left, bar)
	if withNext {
		line += " next " + next.Code.Reveal()
	}
	return line
}
