package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/internal/accountspec"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func newAccountCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "account",
		Short: "Add, list, show, remove and import accounts",
		Example: `  rotator account add demo --template demo-social --username alice
  rotator account list
  rotator account show demo`,
	}
	groupCommand(c)
	c.AddCommand(newAccountAddCmd(a), newAccountListCmd(a), newAccountShowCmd(a), newAccountRmCmd(a), newAccountImportCmd(a),
		newAccountClearCmd(a), newAccountLimitCmd(a))
	return c
}

type accountAddOptions struct {
	name, template, username, url, schedule, proxy string
	passwordStdin, totpStdin                       bool
	totpMinValidity                                time.Duration
}

func newAccountAddCmd(a *app) *cobra.Command {
	var opts accountAddOptions
	c := &cobra.Command{
		Use:   "add NAME --template T --username U [--url URL] [--schedule SPEC]",
		Short: "Add an account; its password and TOTP secret are read without echo",
		Long: `add stores a new account in the vault. The password, and optionally a TOTP
secret (base32, any case, spaces or hyphens allowed) or an otpauth://totp/ URI,
are asked for on the terminal without echo, or read from standard input with
--password-stdin and --totp-stdin: one line each, the password first when both
are given. Secrets are never taken from the command line, where other users
and shell history would see them.`,
		Example: `  rotator account add demo --template demo-social --username alice
  printf '%s\n%s\n' "$PW" "$TOTP" | rotator account add demo --template demo-social \
      --username alice --password-stdin --totp-stdin
  rotator account add work --template linkedin --username bob@example.com \
      --schedule 'CRON_TZ=Europe/Paris 0 3 * * 1'`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runAccountAdd(cmd.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.template, "template", "", "template name (required)")
	f.StringVar(&opts.username, "username", "", "user name on the site (required)")
	f.StringVar(&opts.url, "url", "", "site URL, overriding the template's base URL")
	f.StringVar(&opts.schedule, "schedule", "", "cron spec (default: the config's schedule.default)")
	f.StringVar(&opts.proxy, "proxy", "", "proxy URL for this account's browser (http://, socks5://), overriding the template's")
	f.BoolVar(&opts.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.BoolVar(&opts.totpStdin, "totp-stdin", false, "read the TOTP secret or otpauth URI from standard input (after the password)")
	f.DurationVar(&opts.totpMinValidity, "totp-min-validity", 0, "do not use a TOTP code with less validity left (default: the config's totp.min_validity)")
	return c
}

// flagError words an account field's problem as a usage error, naming the
// field by its flag: account add's flags are the import file's keys, with
// '-' for '_'.
func flagError(err error) error {
	var fe *accountspec.FieldError
	if errors.As(err, &fe) && errors.Is(fe.Err, accountspec.ErrRequired) {
		return usagef("--%s is required", strings.ReplaceAll(string(fe.Field), "_", "-"))
	}
	return usageError{err}
}

func runAccountAdd(ctx context.Context, a *app, opts accountAddOptions) error {
	spec := accountspec.Spec{Name: opts.name, Template: opts.template, Username: opts.username,
		URL: opts.url, Schedule: opts.schedule, Proxy: opts.proxy}
	// What describes the account is checked before any secret is asked for.
	if err := spec.Validate(); err != nil {
		return flagError(err)
	}
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Account(ctx, opts.name); err == nil {
		return fmt.Errorf("%w: %s", store.ErrDuplicate, opts.name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if spec.Password, err = a.readAccountPassword(opts); err != nil {
		return err
	}
	if err := spec.ValidatePassword(); err != nil {
		return fmt.Errorf("%v; nothing stored", err)
	}
	if spec.TOTP, err = a.readAccountTOTP(opts); err != nil {
		return err
	}
	if spec.HasTOTP() {
		// Without a TOTP secret, --totp-min-validity has nothing to apply to.
		spec.TOTPMinValidity = opts.totpMinValidity
	}
	acct, err := spec.Account()
	if err != nil {
		return err
	}
	if err := s.AddAccount(ctx, acct); err != nil {
		return err
	}
	if err := s.Audit(ctx, store.AuditEvent{Actor: a.actor(), Account: opts.name, Action: "account.add",
		Detail: fmt.Sprintf("template=%s totp=%t", opts.template, acct.TOTP != nil)}); err != nil {
		return err
	}
	schedule := opts.schedule
	if schedule == "" {
		schedule = cfg.Schedule.Default + " (default)"
	}
	fmt.Fprintf(a.stdout, "added account %s (template %s, user %s, TOTP %s, schedule %s)\n",
		opts.name, opts.template, opts.username, yesNo(acct.TOTP != nil), schedule)
	return nil
}

// readAccountPassword reads the password from standard input's first line,
// or asks for it twice on the terminal.
func (a *app) readAccountPassword(opts accountAddOptions) (secret.String, error) {
	if opts.passwordStdin {
		line, err := a.input().Line("password")
		if err != nil {
			return secret.String{}, err
		}
		return secret.New(line), nil
	}
	pw, err := a.input().Secret("Password for " + opts.name + ": ")
	if err != nil {
		return secret.String{}, fmt.Errorf("%w; pass --password-stdin to read it from standard input", err)
	}
	again, err := a.input().Secret("Password again: ")
	if err != nil {
		return secret.String{}, err
	}
	if !again.Equal(pw) {
		return secret.String{}, errors.New("the two passwords differ; nothing stored")
	}
	return pw, nil
}

// readAccountTOTP reads the TOTP secret or URI from standard input's next
// line with --totp-stdin, or asks for it on the terminal (empty for none)
// when the password was asked for there too.
func (a *app) readAccountTOTP(opts accountAddOptions) (secret.String, error) {
	switch {
	case opts.totpStdin:
		line, err := a.input().Line("TOTP secret")
		if err != nil {
			return secret.String{}, err
		}
		if strings.TrimSpace(line) == "" {
			return secret.String{}, errors.New("empty TOTP secret on standard input; leave out --totp-stdin for an account without TOTP")
		}
		return secret.New(line), nil
	case !opts.passwordStdin:
		return a.input().Secret("TOTP secret or otpauth:// URI (empty for none): ")
	}
	return secret.String{}, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type accountListOptions struct{}

func newAccountListCmd(a *app) *cobra.Command {
	var opts accountListOptions
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List accounts: name, template, username, TOTP, schedule, last change, state",
		Example: `  rotator account list`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAccountList(cmd.Context(), a, opts)
		},
	}
}

func runAccountList(ctx context.Context, a *app, _ accountListOptions) error {
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		fmt.Fprintln(a.stderr, "no accounts yet: add one with `rotator account add`")
		return nil
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTEMPLATE\tUSERNAME\tTOTP\tSCHEDULE\tLAST CHANGE\tSTATE")
	for _, acct := range accounts {
		schedule := acct.Schedule
		if schedule == "" {
			schedule = cfg.Schedule.Default + " (default)"
		}
		state := string(acct.State)
		if acct.HasPending {
			state += " (pending password)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", acct.Name, acct.Template, acct.Username,
			yesNo(acct.TOTP != nil), schedule, formatTime(acct.LastChange), state)
	}
	return w.Flush()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

type accountShowOptions struct {
	name   string
	reveal bool
}

func newAccountShowCmd(a *app) *cobra.Command {
	var opts accountShowOptions
	c := &cobra.Command{
		Use:   "show NAME [--reveal]",
		Short: "Show an account; secrets only with --reveal, which is audited",
		Example: `  rotator account show demo
  rotator account show demo --reveal`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runAccountShow(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVar(&opts.reveal, "reveal", false, "print the password, pending password, candidates and TOTP secret (recorded in the audit log)")
	return c
}

func runAccountShow(ctx context.Context, a *app, opts accountShowOptions) error {
	s, cfg, acct, err := a.openAccount(ctx, opts.name)
	if err != nil {
		return err
	}
	defer s.Close()
	history, err := s.History(ctx, opts.name)
	if err != nil {
		return err
	}
	var rev store.Revealed
	if opts.reveal {
		// The store writes the audit entry before it hands out anything.
		if rev, err = s.Reveal(ctx, opts.name, a.actor(), "password, pending password, candidates and TOTP secret shown by account show --reveal"); err != nil {
			return err
		}
	} else if rev.Candidates, err = s.Candidates(ctx, opts.name); err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 1, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	row("name", acct.Name)
	row("template", acct.Template)
	row("username", acct.Username)
	row("site URL", orDash(acct.SiteURL, "the template's"))
	row("schedule", orDash(acct.Schedule, cfg.Schedule.Default+" (default)"))
	row("proxy", orDash(acct.Proxy, "the template's, if any"))
	row("state", string(acct.State))
	if opts.reveal {
		row("password", rev.Password.Reveal())
	} else {
		row("password", "[hidden: --reveal shows it]")
	}
	row("password set", formatTime(acct.PasswordSetAt))
	switch {
	case !acct.HasPending:
		row("pending password", "none")
	case opts.reveal:
		row("pending password", fmt.Sprintf("%s (since %s)", rev.Pending.Reveal(), formatTime(acct.PendingSince)))
	default:
		row("pending password", "since "+formatTime(acct.PendingSince)+" [hidden: --reveal shows it]")
	}
	for _, c := range rev.Candidates {
		what := c.State.Describe()
		if opts.reveal {
			what = c.Password.Reveal() + " (" + what + ")"
		}
		row(fmt.Sprintf("candidate #%d", c.Seq), fmt.Sprintf("%s, since %s", what, formatTime(c.CreatedAt)))
	}
	totpRows(row, acct, cfg.TOTP.MinValidity, opts.reveal)
	row("previous passwords", fmt.Sprint(len(history)))
	row("last change", formatTime(acct.LastChange))
	row("created", formatTime(acct.CreatedAt))
	return w.Flush()
}

// totpRows shows the account's TOTP settings (defaultMin is the
// configuration's minimum validity); with reveal, its secret and URI too.
func totpRows(row func(k, v string), acct store.Account, defaultMin time.Duration, reveal bool) {
	k, ok := acct.TOTPKey()
	if !ok {
		row("TOTP", "no")
		return
	}
	row("TOTP", fmt.Sprintf("yes: %s, %d digits, %v period, minimum validity %v", k.Algorithm, k.Digits, k.Period, acct.TOTP.MinValidityOr(defaultMin)))
	if t := acct.TOTP.Key; t.Issuer != "" || t.Label != "" {
		row("TOTP issuer/label", orDash(t.Issuer, "-")+" / "+orDash(t.Label, "-"))
	}
	if reveal {
		row("TOTP secret", k.Secret.Reveal())
		row("TOTP URI", k.URI().Reveal())
	}
}

func orDash(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

type accountRmOptions struct {
	name string
	yes  bool
}

func newAccountRmCmd(a *app) *cobra.Command {
	var opts accountRmOptions
	c := &cobra.Command{
		Use:     "rm NAME [--yes]",
		Aliases: []string{"remove"},
		Short:   "Remove an account with its passwords and history",
		Example: `  rotator account rm demo
  rotator account rm demo --yes`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runAccountRm(cmd.Context(), a, opts)
		},
	}
	c.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return c
}

func runAccountRm(ctx context.Context, a *app, opts accountRmOptions) error {
	s, _, _, err := a.openAccount(ctx, opts.name)
	if err != nil {
		return err
	}
	defer s.Close()
	if !opts.yes {
		ok, err := a.input().Confirm(fmt.Sprintf("Remove account %s with its current, pending and previous passwords? This cannot be undone.", opts.name))
		if err != nil {
			return usagef("cannot ask for confirmation (%v): pass --yes to remove %s", err, opts.name)
		}
		if !ok {
			return errors.New("not removed")
		}
	}
	if err := s.RemoveAccount(ctx, opts.name, a.actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "removed account %s\n", opts.name)
	return nil
}
