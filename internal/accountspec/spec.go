// Package accountspec checks what describes an account before it enters the
// vault, and reads the files that `rotator account import` takes.
//
// One [Spec.Validate] holds the rules for an account's name, template, user
// name, site URL, schedule and proxy, and [Spec.Account] adds those for its
// password and TOTP secret. A problem is a [*FieldError] that names the
// field at fault, so each caller words it in its own terms: the command
// line with its flags, an import file with its keys and lines.
//
// # Import files
//
// [ParseYAML] and [ParseCSV] read the records of an import file; [Accounts]
// checks them all, so that every problem is reported at once, each with the
// line of the key at fault. No message quotes a password or a TOTP secret.
package accountspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Field names a field of an account as an import file's key (or CSV
// column) does.
type Field string

// The fields of an account.
const (
	FieldName            Field = "name"
	FieldTemplate        Field = "template"
	FieldUsername        Field = "username"
	FieldPassword        Field = "password"
	FieldTOTP            Field = "totp"
	FieldTOTPMinValidity Field = "totp_min_validity"
	FieldURL             Field = "url"
	FieldSchedule        Field = "schedule"
	FieldProxy           Field = "proxy"
)

// Fields returns every field, in the order the documentation lists them.
func Fields() []Field {
	return []Field{FieldName, FieldTemplate, FieldUsername, FieldPassword, FieldTOTP, FieldTOTPMinValidity,
		FieldURL, FieldSchedule, FieldProxy}
}

// Secret reports whether the field holds a secret, whose value no message
// may quote.
func (f Field) Secret() bool {
	return f == FieldPassword || f == FieldTOTP || f == FieldTOTPMinValidity
}

// ErrRequired is a FieldError's Err when a required field is empty.
var ErrRequired = errors.New("required")

// FieldError is a problem with one field of an account.
type FieldError struct {
	Field Field
	// Line is the line of the field's key in an import file (of the
	// record when the key is missing); 0 outside a file.
	Line int
	Err  error
}

// Error words the problem with the field's key: "template is required",
// or Err's own message, which says what is wrong without the key.
func (e *FieldError) Error() string {
	if errors.Is(e.Err, ErrRequired) {
		return string(e.Field) + " is required"
	}
	return e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldError(f Field, err error) *FieldError { return &FieldError{Field: f, Err: err} }

// Spec describes an account to add.
type Spec struct {
	Name, Template, Username string
	// URL, Schedule and Proxy are optional: empty for the template's
	// base URL, the configuration's default schedule, the template's
	// proxy.
	URL, Schedule, Proxy string
	Password             secret.String
	// TOTP is a base32 secret or an otpauth URI; empty (or spaces) for
	// an account without TOTP.
	TOTP secret.String
	// TOTPMinValidity is the least validity a code must have left; 0 for
	// the configuration's. It needs a TOTP secret.
	TOTPMinValidity time.Duration
}

// Validate checks what the account is described by, not its secrets, so
// that it can be done before any secret is asked for. The error is a
// *FieldError.
func (s Spec) Validate() error {
	if err := store.ValidateName(s.Name); err != nil {
		return fieldError(FieldName, err)
	}
	if s.Template == "" {
		return fieldError(FieldTemplate, ErrRequired)
	}
	if s.Username == "" {
		return fieldError(FieldUsername, ErrRequired)
	}
	if s.URL != "" {
		if err := validateSiteURL(s.URL); err != nil {
			return fieldError(FieldURL, err)
		}
	}
	if s.Schedule != "" {
		if _, err := schedule.Parse(s.Schedule); err != nil {
			return fieldError(FieldSchedule, err)
		}
	}
	if s.Proxy != "" {
		if err := templates.ValidateProxy(s.Proxy); err != nil {
			return fieldError(FieldProxy, err)
		}
	}
	return nil
}

func validateSiteURL(s string) error {
	u, err := weburl.Parse(s)
	if err != nil {
		// Shown: a URL that does not parse may still hold a password.
		return fmt.Errorf("site URL %q must be an absolute http or https URL", weburl.Shown(s, false))
	}
	if u.User != nil {
		return errors.New("site URL must not carry a user name or password")
	}
	return nil
}

// ValidatePassword checks the password alone, for a caller that asks for
// it before the TOTP secret. The error is a *FieldError.
func (s Spec) ValidatePassword() error {
	if s.Password.IsZero() {
		return fieldError(FieldPassword, errors.New("password is empty"))
	}
	return nil
}

// HasTOTP reports whether the spec holds a TOTP secret.
func (s Spec) HasTOTP() bool { return strings.TrimSpace(s.TOTP.Reveal()) != "" }

// Account checks the whole spec, Validate's fields first, then the
// password and the TOTP secret, and returns the account to store. The
// error is a *FieldError.
func (s Spec) Account() (store.NewAccount, error) {
	if err := s.Validate(); err != nil {
		return store.NewAccount{}, err
	}
	if err := s.ValidatePassword(); err != nil {
		return store.NewAccount{}, err
	}
	acct := store.NewAccount{
		Account: store.Account{Name: s.Name, Template: s.Template, Username: s.Username,
			SiteURL: s.URL, Schedule: s.Schedule, Proxy: s.Proxy},
		Password: s.Password,
	}
	switch {
	case s.HasTOTP():
		t, err := totpSettings(s.TOTP, s.TOTPMinValidity)
		if err != nil {
			return store.NewAccount{}, fieldError(FieldTOTP, err)
		}
		acct.TOTP = t
	case s.TOTPMinValidity != 0:
		return store.NewAccount{}, fieldError(FieldTOTPMinValidity, errors.New("totp_min_validity without totp"))
	}
	return acct, nil
}

// totpSettings parses a TOTP secret or URI and checks the minimum validity
// against its period.
func totpSettings(text secret.String, minValidity time.Duration) (*store.TOTP, error) {
	k, err := otp.Parse(text.Reveal())
	if err != nil {
		return nil, err
	}
	if minValidity < 0 || minValidity >= k.Period {
		return nil, fmt.Errorf("TOTP minimum validity %v must be shorter than the key's period %v", minValidity, k.Period)
	}
	return &store.TOTP{Key: k, MinValidity: minValidity}, nil
}
