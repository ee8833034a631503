package accountspec

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/strictyaml"
)

// Record is one account of an import file.
type Record struct {
	Spec
	// Line is where the record starts.
	Line int
	// lines is where each key is, for YAML records.
	lines map[Field]int
}

// LineOf is the line of the field's key in the file, or of the record.
func (r Record) LineOf(f Field) int {
	if l, ok := r.lines[f]; ok {
		return l
	}
	return r.Line
}

// Accounts checks every record, and that no two name the same account
// and none names an account that exists (exists tells). It returns the
// accounts, or the problems of all records, each "FILE:LINE: ..." at the
// line of the key at fault; a problem with a secret names the account,
// since its message cannot quote the value.
func Accounts(file string, records []Record, exists func(name string) bool) ([]store.NewAccount, []error) {
	var (
		accounts []store.NewAccount
		problems []error
		seen     = map[string]int{}
	)
	for _, r := range records {
		acct, err := r.Account()
		if err == nil {
			if prev, dup := seen[r.Name]; dup {
				err = fieldError(FieldName, fmt.Errorf("account %s also on line %d", r.Name, prev))
			} else if exists(r.Name) {
				err = fieldError(FieldName, fmt.Errorf("%w: %s", store.ErrDuplicate, r.Name))
			}
		}
		if err != nil {
			problems = append(problems, r.problem(file, err))
			continue
		}
		seen[r.Name] = r.Line
		accounts = append(accounts, acct)
	}
	return accounts, problems
}

// problem puts the file and the line of the key at fault before a
// *FieldError.
func (r Record) problem(file string, err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s:%d: %w", file, r.Line, err)
	}
	fe.Line = r.LineOf(fe.Field)
	if fe.Field.Secret() {
		return fmt.Errorf("%s:%d: account %s: %w", file, fe.Line, r.Name, fe)
	}
	return fmt.Errorf("%s:%d: %w", file, fe.Line, fe)
}

// yamlRecord is a record as YAML spells it.
type yamlRecord struct {
	Name            string        `yaml:"name"`
	Template        string        `yaml:"template"`
	Username        string        `yaml:"username"`
	Password        string        `yaml:"password"`
	TOTP            string        `yaml:"totp"`
	TOTPMinValidity time.Duration `yaml:"totp_min_validity"`
	URL             string        `yaml:"url"`
	Schedule        string        `yaml:"schedule"`
	Proxy           string        `yaml:"proxy"`
}

func (y yamlRecord) spec() Spec {
	return Spec{Name: y.Name, Template: y.Template, Username: y.Username, URL: y.URL, Schedule: y.Schedule,
		Proxy: y.Proxy, Password: secret.New(y.Password), TOTP: secret.New(y.TOTP), TOTPMinValidity: y.TOTPMinValidity}
}

// ParseYAML reads a list of records, or a mapping with an "accounts" list.
// It returns the well-formed records and the problems of the others, so
// that every problem is reported at once; err is for a file that cannot
// be read as such a list.
func ParseYAML(file string, data []byte) (records []Record, problems []error, err error) {
	list, err := yamlAccountList(file, data)
	if list == nil || err != nil {
		return nil, nil, err
	}
	for _, item := range list.Content {
		var y yamlRecord
		if err := strictyaml.DecodeNode(file, item, &y); err != nil {
			problems = append(problems, yamlRecordProblems(file, item, err)...)
			continue
		}
		r := Record{Spec: y.spec(), Line: item.Line, lines: map[Field]int{}}
		for i := 0; i+1 < len(item.Content); i += 2 {
			r.lines[Field(item.Content[i].Value)] = item.Content[i].Line
		}
		records = append(records, r)
	}
	return records, problems, nil
}

// yamlAccountList finds the list of records: the document, or its
// "accounts" key. It is nil for an empty file.
func yamlAccountList(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// Syntax errors may quote a line of the file: say only where.
		var e strictyaml.Error
		if errors.As(strictyaml.Decode(file, data, &struct{}{}), &e) && e.Line > 0 {
			return nil, fmt.Errorf("%s:%d: YAML syntax error", file, e.Line)
		}
		return nil, fmt.Errorf("%s: YAML syntax error", file)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if list.Content[i].Value == "accounts" {
				found = list.Content[i+1]
			} else {
				k := list.Content[i]
				return nil, fmt.Errorf("%s:%d:%d: unknown key %q (want accounts)", file, k.Line, k.Column, k.Value)
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%s: no accounts list", file)
		}
		list = found
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d:%d: want a list of accounts", file, list.Line, list.Column)
	}
	return list, nil
}

// yamlRecordProblems words a record's decoding errors. Type errors from
// yaml.v3 quote the value, which may be a password: only positions and key
// names are kept.
func yamlRecordProblems(file string, item *yaml.Node, err error) []error {
	var el strictyaml.ErrorList
	if !errors.As(err, &el) {
		return []error{fmt.Errorf("%s:%d: invalid record", file, item.Line)}
	}
	var errs []error
	for _, e := range el {
		if strings.HasPrefix(e.Msg, "unknown key") {
			errs = append(errs, e)
		} else {
			errs = append(errs, fmt.Errorf("%s:%d: value of the wrong type", file, e.Line))
		}
	}
	return errs
}

// ParseCSV reads a header row naming the columns (the fields' keys; name,
// template, username and password are required), then one record per row.
// A password and a TOTP secret are taken byte for byte; the other fields
// are trimmed.
func ParseCSV(file string, data []byte) ([]Record, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	// No TrimLeadingSpace: it would take the leading spaces of a password.
	// The other fields are trimmed one by one below.
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read CSV header: %w", file, err)
	}
	col, err := csvColumns(file, header)
	if err != nil {
		return nil, err
	}
	var out []Record
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
		r, err := csvRecord(file, line, col, row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// csvColumns maps each field to its column.
func csvColumns(file string, header []string) (map[Field]int, error) {
	known := Fields()
	col := map[Field]int{}
	for i, h := range header {
		f := Field(strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))))
		if !slices.Contains(known, f) {
			names := make([]string, len(known))
			for j, k := range known {
				names[j] = string(k)
			}
			return nil, fmt.Errorf("%s:1: unknown column %q (known: %s)", file, f, strings.Join(names, ", "))
		}
		if _, dup := col[f]; dup {
			return nil, fmt.Errorf("%s:1: column %q twice", file, f)
		}
		col[f] = i
	}
	for _, req := range []Field{FieldName, FieldTemplate, FieldUsername, FieldPassword} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("%s:1: no %q column", file, req)
		}
	}
	return col, nil
}

// csvRecord reads one row.
func csvRecord(file string, line int, col map[Field]int, row []string) (Record, error) {
	get := func(f Field) string {
		if i, ok := col[f]; ok {
			return row[i]
		}
		return ""
	}
	trimmed := func(f Field) string { return strings.TrimSpace(get(f)) }
	r := Record{Spec: Spec{Name: trimmed(FieldName), Template: trimmed(FieldTemplate), Username: trimmed(FieldUsername),
		Password: secret.New(get(FieldPassword)), TOTP: secret.New(get(FieldTOTP)),
		URL: trimmed(FieldURL), Schedule: trimmed(FieldSchedule), Proxy: trimmed(FieldProxy)}, Line: line}
	if v := trimmed(FieldTOTPMinValidity); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Record{}, fmt.Errorf("%s:%d: totp_min_validity %q is not a duration like 5s", file, line, v)
		}
		r.TOTPMinValidity = d
	}
	return r, nil
}
