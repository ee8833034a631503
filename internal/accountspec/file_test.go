package accountspec

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/store"
)

// A password's bytes are kept exactly: leading and trailing spaces and
// tabs are part of it. Other fields may be trimmed.
func TestImportCSVKeepsPasswordBytes(t *testing.T) {
	data := "name, template ,username,password\n" +
		" fb , facebook,  fb-user , \t lead and trail \t\n" +
		"tw,twitter,tw-user,\"  quoted, with comma \"\n"
	recs, err := ParseCSV("accounts.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, template, username, password string }{
		{"fb", "facebook", "fb-user", " \t lead and trail \t"},
		{"tw", "twitter", "tw-user", "  quoted, with comma "},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.Name != w.name || r.Template != w.template || r.Username != w.username {
			t.Errorf("record %d: %q %q %q", i, r.Name, r.Template, r.Username)
		}
		if r.Password.Reveal() != w.password {
			t.Errorf("record %d: password not kept byte for byte (length %d, want %d)", i, len(r.Password.Reveal()), len(w.password))
		}
	}
}

func TestParseCSVErrors(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"unknown column", "name,template,username,password,secret\n",
			`a.csv:1: unknown column "secret" (known: name, template, username, password, totp, totp_min_validity, url, schedule, proxy)`},
		{"column twice", "name,template,username,password,Name\n", `a.csv:1: column "name" twice`},
		{"required column", "name,template,username\n", `a.csv:1: no "password" column`},
		{"field count", "name,template,username,password\nx,t,u\n", "a.csv:2: 3 fields, the header has 4"},
		{"duration", "name,template,username,password,totp_min_validity\nx,t,u,p,soon\n", `a.csv:2: totp_min_validity "soon" is not a duration like 5s`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCSV("a.csv", []byte(c.data))
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

// Every problem of every record is reported, each at the line of the key
// at fault (of the record when the key is missing), and none quotes a
// password.
func TestAccountsReportsEveryProblemAtItsKey(t *testing.T) {
	data := `accounts:
  - name: ok
    template: t
    username: u
    password: secret-pw
  - name: badtotp
    template: t
    username: u
    password: secret-pw
    totp: "JBSW8Y3DP"
  - template: t
    name: ok
    username: u
    password: secret-pw
  - username: u
    name: exists
    template: t
    password: secret-pw
  - name: badurl
    template: t
    username: u
    password: secret-pw
    url: ftp://x
  - name: nopw
    template: t
    username: u
  - name: notemplate
    username: u
    password: secret-pw
  - name: minonly
    template: t
    username: u
    password: secret-pw
    totp_min_validity: 5s
  - name: typo
    template: t
    username: u
    pasword: secret-pw
`
	recs, problems, err := ParseYAML("a.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), `a.yaml:38:5: unknown key "pasword"`) {
		t.Errorf("parse problems: %v", problems)
	}
	accounts, bad := Accounts("a.yaml", recs, func(name string) bool { return name == "exists" })
	if len(accounts) != 1 || accounts[0].Name != "ok" || accounts[0].Password.Reveal() != "secret-pw" {
		t.Errorf("accounts: %+v", accounts)
	}
	want := []struct {
		msg   string
		field Field
	}{
		{`a.yaml:10: account badtotp: invalid TOTP secret: character '8' at position 5 is not base32`, FieldTOTP},
		{`a.yaml:12: account ok also on line 2`, FieldName},
		{`a.yaml:16: account already exists: exists`, FieldName},
		{`a.yaml:23: site URL "ftp://x" must be an absolute http or https URL`, FieldURL},
		{`a.yaml:24: account nopw: password is empty`, FieldPassword},
		{`a.yaml:27: template is required`, FieldTemplate},
		{`a.yaml:34: account minonly: totp_min_validity without totp`, FieldTOTPMinValidity},
	}
	if len(bad) != len(want) {
		t.Fatalf("%d problems, want %d: %v", len(bad), len(want), bad)
	}
	for i, w := range want {
		p := bad[i]
		if !strings.HasPrefix(p.Error(), w.msg) {
			t.Errorf("problem %d: %v\nwant %s...", i, p, w.msg)
		}
		if strings.Contains(p.Error(), "secret-pw") {
			t.Errorf("a problem quotes the password: %v", p)
		}
		var fe *FieldError
		if !errors.As(p, &fe) || fe.Field != w.field || fmt.Sprintf("a.yaml:%d: ", fe.Line) != p.Error()[:len(fmt.Sprintf("a.yaml:%d: ", fe.Line))] {
			t.Errorf("problem %d: not a FieldError for %s at its line: %#v", i, w.field, fe)
		}
	}
	if !errors.Is(bad[2], store.ErrDuplicate) {
		t.Errorf("%v is not store.ErrDuplicate", bad[2])
	}
}

func TestParseYAMLShapes(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"unknown top key", "users:\n  - name: x\n", `a.yaml:1:1: unknown key "users" (want accounts)`},
		{"not a list", "accounts: x\n", "a.yaml:1:11: want a list of accounts"},
		{"wrong type, value not quoted", "- name: x\n  totp_min_validity: secret-ish\n", "a.yaml:2: value of the wrong type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, problems, err := ParseYAML("a.yaml", []byte(c.data))
			if err == nil && len(problems) > 0 {
				err = errors.Join(problems...)
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
	// A syntax error never quotes the file, which holds passwords.
	_, _, err := ParseYAML("a.yaml", []byte("accounts:\n  - password: secret-pw\n\t- y\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "a.yaml:") || !strings.HasSuffix(err.Error(), ": YAML syntax error") {
		t.Errorf("syntax error: %v", err)
	}
	recs, problems, err := ParseYAML("a.yaml", nil)
	if recs != nil || problems != nil || err != nil {
		t.Errorf("empty file: %v %v %v", recs, problems, err)
	}
}
