package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/store"
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
	k := acct.TOTP.Key
	if !opts.watch {
		return printOTP(ctx, a, s, opts, k, a.now())
	}
	tty := false
	if f, ok := a.stdout.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var lastStep uint64
	for {
		now := a.now()
		cur, err := k.At(now)
		if err != nil {
			return err
		}
		if cur.Step != lastStep {
			if err := reserve(ctx, s, opts, cur.Step); err != nil {
				return err
			}
			lastStep = cur.Step
		}
		line, err := watchLine(k, now, opts.next)
		if err != nil {
			return err
		}
		if tty {
			fmt.Fprintf(a.stdout, "\r\x1b[2K%s", line)
		} else {
			fmt.Fprintln(a.stdout, line)
		}
		// Wake at the next whole second.
		wait := time.Second - time.Duration(now.Nanosecond())
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(a.stdout)
			}
			return nil
		case <-time.After(wait):
		}
	}
}

// reserve marks the steps shown as used, so automation skips them.
func reserve(ctx context.Context, s *store.Store, opts otpOptions, step uint64) error {
	if opts.next {
		step++
	}
	if err := s.ReserveStep(ctx, opts.name, step); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func printOTP(ctx context.Context, a *app, s *store.Store, opts otpOptions, k otp.Key, now time.Time) error {
	cur, err := k.At(now)
	if err != nil {
		return err
	}
	if err := reserve(ctx, s, opts, cur.Step); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s %ds\n", cur.Code.Reveal(), secondsLeft(cur, now))
	if opts.next {
		next, err := k.Next(now)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s next, valid from %s\n", next.Code.Reveal(), next.Start.Local().Format("15:04:05"))
	}
	return nil
}

// secondsLeft rounds down: the code is valid for at least that long.
func secondsLeft(t otp.Token, now time.Time) int { return int(t.Remaining(now) / time.Second) }

func watchLine(k otp.Key, now time.Time, withNext bool) (string, error) {
	cur, err := k.At(now)
	if err != nil {
		return "", err
	}
	left := secondsLeft(cur, now)
	period := int(k.Period / time.Second)
	const width = 30
	filled := left * width / period
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	line := fmt.Sprintf("%s %2ds [%s]", cur.Code.Reveal(), left, bar)
	if withNext {
		next, err := k.Next(now)
		if err != nil {
			return "", err
		}
		line += " next " + next.Code.Reveal()
	}
	return line, nil
}
