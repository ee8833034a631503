package accountspec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/secret"
)

func TestValidate(t *testing.T) {
	ok := Spec{Name: "demo", Template: "t", Username: "u"}
	for _, c := range []struct {
		name  string
		edit  func(*Spec)
		field Field
		msg   string
	}{
		{"valid", func(*Spec) {}, "", ""},
		{"all optional fields", func(s *Spec) {
			s.URL, s.Schedule, s.Proxy = "https://example.com/", "@every 12h", "socks5://127.0.0.1:1080"
		}, "", ""},
		{"bad name", func(s *Spec) { s.Name = "bad name" }, FieldName, "character ' ' at position 4 not allowed"},
		{"no name", func(s *Spec) { s.Name = "" }, FieldName, "account name is empty"},
		{"no template", func(s *Spec) { s.Template = "" }, FieldTemplate, "template is required"},
		{"no username", func(s *Spec) { s.Username = "" }, FieldUsername, "username is required"},
		{"the first problem only", func(s *Spec) { s.Template, s.Username = "", "" }, FieldTemplate, "template is required"},
		{"url scheme", func(s *Spec) { s.URL = "ftp://x" }, FieldURL, `site URL "ftp://x" must be an absolute http or https URL`},
		{"url with a user", func(s *Spec) { s.URL = "https://bob:pw@example.com/" }, FieldURL, "site URL must not carry a user name or password"},
		{"schedule", func(s *Spec) { s.Schedule = "every day" }, FieldSchedule, `schedule "every day"`},
		{"proxy", func(s *Spec) { s.Proxy = "ftp://proxy" }, FieldProxy, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := ok
			c.edit(&s)
			err := s.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a FieldError: %v", err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Error(), c.msg) {
				t.Errorf("got %s: %v; want %s: ...%s...", fe.Field, fe, c.field, c.msg)
			}
			if errors.Is(err, ErrRequired) != strings.HasSuffix(c.msg, " is required") {
				t.Errorf("errors.Is(%v, ErrRequired) = %v", err, !strings.HasSuffix(c.msg, " is required"))
			}
		})
	}
}

func TestAccount(t *testing.T) {
	base := Spec{Name: "demo", Template: "t", Username: "u", Password: secret.New("pw")}
	for _, c := range []struct {
		name  string
		edit  func(*Spec)
		field Field
		msg   string
	}{
		{"no TOTP", func(*Spec) {}, "", ""},
		{"spaces are no TOTP", func(s *Spec) { s.TOTP = secret.New("  ") }, "", ""},
		{"TOTP with minimum validity", func(s *Spec) {
			s.TOTP, s.TOTPMinValidity = secret.New("jbsw y3dp ehpk 3pxp"), 10*time.Second
		}, "", ""},
		{"description first", func(s *Spec) { s.Template, s.Password = "", secret.String{} }, FieldTemplate, "template is required"},
		{"no password", func(s *Spec) { s.Password = secret.String{} }, FieldPassword, "password is empty"},
		{"bad TOTP", func(s *Spec) { s.TOTP = secret.New("JBSWY3DP1HPK3PXP") }, FieldTOTP, "invalid TOTP secret: character '1' at position 9 is not base32"},
		{"minimum validity too long", func(s *Spec) {
			s.TOTP, s.TOTPMinValidity = secret.New("JBSWY3DPEHPK3PXP"), 30*time.Second
		}, FieldTOTP, "TOTP minimum validity 30s must be shorter than the key's period 30s"},
		{"minimum validity without TOTP", func(s *Spec) { s.TOTPMinValidity = time.Second }, FieldTOTPMinValidity, "totp_min_validity without totp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.edit(&s)
			acct, err := s.Account()
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if acct.Name != s.Name || !acct.Password.Equal(s.Password) || (acct.TOTP != nil) != s.HasTOTP() {
					t.Errorf("account: %+v", acct)
				}
				if acct.TOTP != nil && acct.TOTP.MinValidity != s.TOTPMinValidity {
					t.Errorf("minimum validity %v", acct.TOTP.MinValidity)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.HasPrefix(fe.Error(), c.msg) {
				t.Errorf("got %#v (%v); want %s: %s", fe, err, c.field, c.msg)
			}
			if strings.Contains(err.Error(), "JBSWY3DP") {
				t.Errorf("the error quotes the TOTP secret: %v", err)
			}
		})
	}
}
