package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/internal/accountspec"
	"github.com/rotator-pam/rotator/store"
)

type accountImportOptions struct {
	file   string
	format string
}

func newAccountImportCmd(a *app) *cobra.Command {
	var opts accountImportOptions
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Add accounts from a YAML or CSV file, all or none",
		Long: `import adds every account in FILE in one transaction: if any record is
invalid or names an existing account, none is added and each problem is
reported with its line. The file holds plaintext secrets: delete it after.

YAML: a list of records, or a mapping with an "accounts" list. Keys: name,
template, username, password, totp (base32 secret or otpauth URI, optional),
totp_min_validity, url, schedule, proxy.

CSV: a header row naming the columns (the same names), then one account per
row. name, template, username and password are required columns. A
password is taken byte for byte, spaces and tabs included (quote it if it
holds a comma); the other fields are trimmed.`,
		Example: `  rotator account import accounts.yaml && shred -u accounts.yaml
  rotator account import --format csv export.txt`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file = args[0]
			return runAccountImport(cmd.Context(), a, opts)
		},
	}
	c.Flags().StringVar(&opts.format, "format", "", "yaml or csv (default: from the file name's extension)")
	return c
}

func runAccountImport(ctx context.Context, a *app, opts accountImportOptions) error {
	format := opts.format
	if format == "" {
		if format = accountspec.FormatOf(opts.file); format == "" {
			return usagef("cannot tell the format of %s from its name: pass --format yaml or --format csv", opts.file)
		}
	}
	data, err := os.ReadFile(opts.file)
	if err != nil {
		return fmt.Errorf("read import file: %w", err)
	}
	fmt.Fprintf(a.stderr, "warning: %s holds plaintext passwords; delete it once imported (shred -u %s)\n", opts.file, opts.file)
	records, problems, err := accountspec.Parse(opts.file, format, data)
	if errors.Is(err, accountspec.ErrFormat) {
		return usagef("unknown format %q: want yaml or csv", format)
	}
	if err != nil {
		return err
	}

	s, _, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	accounts, bad := accountspec.Accounts(opts.file, records, func(name string) bool {
		_, err := s.Account(ctx, name)
		return err == nil
	})
	if problems = append(problems, bad...); len(problems) > 0 {
		return fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	if err := s.ImportAccounts(ctx, accounts); err != nil {
		return fmt.Errorf("nothing imported: %w", err)
	}
	for _, acct := range accounts {
		if err := s.Audit(ctx, store.AuditEvent{Actor: a.actor(), Account: acct.Name, Action: "account.add",
			Detail: fmt.Sprintf("imported from %s; template=%s totp=%t", filepath.Base(opts.file), acct.Template, acct.TOTP != nil)}); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "imported %d account(s)\n", len(accounts))
	return nil
}
