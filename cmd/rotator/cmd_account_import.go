package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/strictyaml"
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

// importRecord is one account in an import file.
type importRecord struct {
	Name            string        `yaml:"name"`
	Template        string        `yaml:"template"`
	Username        string        `yaml:"username"`
	Password        string        `yaml:"password"`
	TOTP            string        `yaml:"totp"`
	TOTPMinValidity time.Duration `yaml:"totp_min_validity"`
	URL             string        `yaml:"url"`
	Schedule        string        `yaml:"schedule"`
	Proxy           string        `yaml:"proxy"`

	line  int            // where the record starts
	lines map[string]int // where each key is, for YAML records
}

// lineOf is the line of key in the file, or of the record.
func (r importRecord) lineOf(key string) int {
	if l, ok := r.lines[key]; ok {
		return l
	}
	return r.line
}

func runAccountImport(ctx context.Context, a *app, opts accountImportOptions) error {
	format := opts.format
	if format == "" {
		switch strings.ToLower(filepath.Ext(opts.file)) {
		case ".csv":
			format = "csv"
		case ".yaml", ".yml":
			format = "yaml"
		default:
			return usagef("cannot tell the format of %s from its name: pass --format yaml or --format csv", opts.file)
		}
	}
	data, err := os.ReadFile(opts.file)
	if err != nil {
		return fmt.Errorf("read import file: %w", err)
	}
	fmt.Fprintf(a.stderr, "warning: %s holds plaintext passwords; delete it once imported (shred -u %s)\n", opts.file, opts.file)
	var (
		records  []importRecord
		problems []error
	)
	switch format {
	case "yaml":
		records, problems, err = parseImportYAML(opts.file, data)
	case "csv":
		records, err = parseImportCSV(opts.file, data)
	default:
		return usagef("unknown format %q: want yaml or csv", format)
	}
	if err != nil {
		return err
	}
	if len(records) == 0 && len(problems) == 0 {
		return fmt.Errorf("%s: no accounts", opts.file)
	}

	s, _, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var (
		accounts []store.NewAccount
		seen     = map[string]int{}
	)
	for _, r := range records {
		acct, key, err := r.account()
		if err == nil {
			key = "name"
			if prev, dup := seen[r.Name]; dup {
				err = fmt.Errorf("account %s also on line %d", r.Name, prev)
			} else if _, gerr := s.Account(ctx, r.Name); gerr == nil {
				err = fmt.Errorf("%w: %s", store.ErrDuplicate, r.Name)
			}
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("%s:%d: %w", opts.file, r.lineOf(key), err))
			continue
		}
		seen[r.Name] = r.line
		accounts = append(accounts, acct)
	}
	if len(problems) > 0 {
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

// account checks a record; on error it also names the key at fault.
func (r importRecord) account() (store.NewAccount, string, error) {
	if err := accountFields(r.Name, r.Template, r.Username, r.URL, r.Schedule, r.Proxy); err != nil {
		// Flags are named in accountFields' messages; say keys instead.
		msg := strings.NewReplacer("--template", "template", "--username", "username").Replace(err.Error())
		return store.NewAccount{}, "", errors.New(msg)
	}
	if r.Password == "" {
		return store.NewAccount{}, "password", fmt.Errorf("account %s: password is empty", r.Name)
	}
	acct := store.NewAccount{
		Account: store.Account{Name: r.Name, Template: r.Template, Username: r.Username,
			SiteURL: r.URL, Schedule: r.Schedule, Proxy: r.Proxy},
		Password: secret.New(r.Password),
	}
	if strings.TrimSpace(r.TOTP) != "" {
		t, err := totpSettings(secret.New(r.TOTP), r.TOTPMinValidity)
		if err != nil {
			return store.NewAccount{}, "totp", fmt.Errorf("account %s: %w", r.Name, err)
		}
		acct.TOTP = t
	} else if r.TOTPMinValidity != 0 {
		return store.NewAccount{}, "totp_min_validity", fmt.Errorf("account %s: totp_min_validity without totp", r.Name)
	}
	return acct, "", nil
}

// parseImportYAML returns the well-formed records and the problems of the
// others, so that every problem is reported at once.
func parseImportYAML(file string, data []byte) ([]importRecord, []error, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// Syntax errors may quote a line of the file: say only where.
		var e strictyaml.Error
		if errors.As(strictyaml.Decode(file, data, &struct{}{}), &e) && e.Line > 0 {
			return nil, nil, fmt.Errorf("%s:%d: YAML syntax error", file, e.Line)
		}
		return nil, nil, fmt.Errorf("%s: YAML syntax error", file)
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if list.Content[i].Value == "accounts" {
				found = list.Content[i+1]
			} else {
				k := list.Content[i]
				return nil, nil, fmt.Errorf("%s:%d:%d: unknown key %q (want accounts)", file, k.Line, k.Column, k.Value)
			}
		}
		if found == nil {
			return nil, nil, fmt.Errorf("%s: no accounts list", file)
		}
		list = found
	}
	if list.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s:%d:%d: want a list of accounts", file, list.Line, list.Column)
	}
	var (
		out  []importRecord
		errs []error
	)
	for _, item := range list.Content {
		var r importRecord
		if err := strictyaml.DecodeNode(file, item, &r); err != nil {
			// Type errors from yaml.v3 quote the value, which may be a
			// password: keep positions and key names only.
			var el strictyaml.ErrorList
			if errors.As(err, &el) {
				for _, e := range el {
					if strings.HasPrefix(e.Msg, "unknown key") {
						errs = append(errs, e)
					} else {
						errs = append(errs, fmt.Errorf("%s:%d: value of the wrong type", file, e.Line))
					}
				}
				continue
			}
			errs = append(errs, fmt.Errorf("%s:%d: invalid record", file, item.Line))
			continue
		}
		r.line = item.Line
		r.lines = map[string]int{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			r.lines[item.Content[i].Value] = item.Content[i].Line
		}
		out = append(out, r)
	}
	return out, errs, nil
}

var csvColumns = map[string]bool{"name": true, "template": true, "username": true, "password": true,
	"totp": true, "totp_min_validity": true, "url": true, "schedule": true, "proxy": true}

func parseImportCSV(file string, data []byte) ([]importRecord, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	// No TrimLeadingSpace: it would take the leading spaces of a password.
	// The other fields are trimmed one by one below.
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read CSV header: %w", file, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !csvColumns[h] {
			return nil, fmt.Errorf("%s:1: unknown column %q (known: name, template, username, password, totp, totp_min_validity, url, schedule, proxy)", file, h)
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q twice", file, h)
		}
		col[h] = i
	}
	for _, req := range []string{"name", "template", "username", "password"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("%s:1: no %q column", file, req)
		}
	}
	var out []importRecord
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// ParseError's message does not quote the field.
				return nil, fmt.Errorf("%s:%d: %v", file, pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(row) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d fields, the header has %d", file, line, len(row), len(header))
		}
		get := func(k string) string {
			if i, ok := col[k]; ok {
				return row[i]
			}
			return ""
		}
		r := importRecord{Name: strings.TrimSpace(get("name")), Template: strings.TrimSpace(get("template")),
			Username: strings.TrimSpace(get("username")), Password: get("password"), TOTP: get("totp"),
			URL: strings.TrimSpace(get("url")), Schedule: strings.TrimSpace(get("schedule")),
			Proxy: strings.TrimSpace(get("proxy")), line: line}
		if v := strings.TrimSpace(get("totp_min_validity")); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: totp_min_validity %q is not a duration like 5s", file, line, v)
			}
			r.TOTPMinValidity = d
		}
		out = append(out, r)
	}
	return out, nil
}
