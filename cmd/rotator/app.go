package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/datadir"
	"github.com/rotator-pam/rotator/internal/term"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// Exit codes, decided in one place: run.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// app is what every command shares: the process's streams, environment and
// clock, and the global flags. Tests build their own.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time

	dataFlag   string
	configFlag string
	storeFlag  string

	in *term.Input // stdin and the terminal, shared by --*-stdin and the prompts

	// tune, when set, adjusts serve's rotator before anything runs: only
	// tests set it (a fake site's sessions for the failover test).
	tune func(*rotator.Rotator)
}

// usageError is a mistake in how rotator was called: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, a *app) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(a.stderr, "rotator: %v\n", oneLine(err))
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// oneLine keeps an error message on one line unless it is a list of
// problems (validation), which reads better one per line.
func oneLine(err error) string {
	return strings.TrimRight(err.Error(), "\n")
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "rotator",
		Short: "Keep web-account passwords fresh, unattended",
		Long: `rotator changes the passwords of web accounts on a schedule through YAML
login templates driving a headless Chromium, keeps every password in an
encrypted vault, and pauses for an operator when a site asks for a CAPTCHA.`,
		Example: `  rotator init
  printf 'pw\n' | rotator account add demo --template demo-social --username alice --password-stdin
  rotator otp demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	groupCommand(root)
	root.PersistentFlags().StringVar(&a.dataFlag, "data", "", "data directory (default $ROTATOR_DATA, else $XDG_DATA_HOME/rotator, else ~/.local/share/rotator)")
	root.PersistentFlags().StringVar(&a.configFlag, "config", "", "config file (default $ROTATOR_CONFIG, else ~/.config/rotator/config.yaml if present)")
	root.PersistentFlags().StringVar(&a.storeFlag, "store", "", "the vault's PostgreSQL database, postgres://USER@HOST/DB (default $ROTATOR_STORE, else store.url, else vault.db in the data directory); no password here: other users see a command line")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newInitCmd(a), newAccountCmd(a), newOTPCmd(a), newTemplateCmd(a), newDemoSiteCmd(a),
		newRotateCmd(a), newVerifyCmd(a), newHistoryCmd(a), newFlagsCmd(a), newAuditCmd(a), newScheduleCmd(a),
		newServeCmd(a), newTokenCmd(a), newDemoCmd(a), newMigrateCmd(a))
	return root
}

// groupCommand makes a command that only holds subcommands refuse unknown
// ones and, called alone, print its help and exit with the usage code.
func groupCommand(c *cobra.Command) {
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		cmd.SetOut(cmd.ErrOrStderr())
		_ = cmd.Help()
		return usagef("%s needs a command", cmd.CommandPath())
	}
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, ", "), len(args))
		}
		return nil
	}
}

// config resolves the settings from the flags, the environment and the file.
func (a *app) config() (config.Config, error) {
	cfg, err := config.FromEnvironment(a.configFlag, a.dataFlag, a.getenv)
	if err != nil || a.storeFlag == "" {
		return cfg, err
	}
	if store.HasPassword(a.storeFlag) {
		return cfg, usagef("--store: a password on the command line is visible to every user of this machine: set ROTATOR_STORE, store.url in the config file, or the password in PGPASSFILE")
	}
	cfg.Store.URL = a.storeFlag
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("--store: %v", err)
	}
	return cfg, nil
}

// openVault opens the existing vault, with errors that say what to do.
func (a *app) openVault(ctx context.Context) (*store.Store, config.Config, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, cfg, err
	}
	s, err := datadir.Open(ctx, cfg, a.note, store.WithClock(a.now))
	return s, cfg, err
}

// note tells the user something on stderr, apart from the output.
func (a *app) note(msg string) { fmt.Fprintln(a.stderr, msg) }

// openAccount opens the vault and reads one account.
func (a *app) openAccount(ctx context.Context, name string) (*store.Store, config.Config, store.Account, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, cfg, store.Account{}, err
	}
	s, acct, err := datadir.OpenAccount(ctx, cfg, name, a.note, store.WithClock(a.now))
	return s, cfg, acct, err
}

// actor names who ran the command, for the audit log.
func (a *app) actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := a.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// input asks the person at the command line: standard input's lines, and
// secrets and confirmations on the terminal.
func (a *app) input() *term.Input {
	if a.in == nil {
		a.in = &term.Input{In: a.stdin, Prompt: a.stderr}
	}
	return a.in
}
