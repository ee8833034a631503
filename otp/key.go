// Package otp produces TOTP codes (RFC 6238) for the accounts rotator logs
// in to, exactly, and never the same one twice.
//
// # Guarantees
//
//   - A secret in any common form (lower case, spaces, hyphens, with or
//     without "=" padding) is normalised; an invalid one is an error naming
//     the first bad character and its position, never the secret.
//   - An otpauth:// URI is validated: totp only, SHA1/SHA256/SHA512, 6 or 8
//     digits, period > 0.
//   - Codes come from github.com/pquerna/otp and match RFC 6238 Appendix B.
//   - [Generator.Fresh] never hands out a code with less than the minimum
//     validity left, and never hands out a time step that a [StepGuard]
//     has seen for the same account, across processes when the guard is the
//     store.
package otp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	potp "github.com/pquerna/otp"

	"github.com/rotator-pam/rotator/internal/clip"
	"github.com/rotator-pam/rotator/secret"
)

// Algorithm is the HMAC hash of a key.
type Algorithm string

// The algorithms RFC 6238 allows.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// Defaults of a bare secret, and of an otpauth URI that omits them.
const (
	DefaultAlgorithm = SHA1
	DefaultDigits    = 6
	DefaultPeriod    = 30 * time.Second
)

// ParseAlgorithm accepts SHA1, SHA256 or SHA512 in any case.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(strings.ToUpper(strings.TrimSpace(s))); a {
	case SHA1, SHA256, SHA512:
		return a, nil
	case "":
		return DefaultAlgorithm, nil
	}
	return "", fmt.Errorf("unsupported TOTP algorithm %q: want SHA1, SHA256 or SHA512", clip.String(s, 19))
}

func (a Algorithm) pquerna() potp.Algorithm {
	switch a {
	case SHA256:
		return potp.AlgorithmSHA256
	case SHA512:
		return potp.AlgorithmSHA512
	}
	return potp.AlgorithmSHA1
}

// Key is a validated TOTP key.
type Key struct {
	// Secret is the normalised base32 secret: upper case, no padding.
	Secret    secret.String
	Algorithm Algorithm
	Digits    int
	Period    time.Duration
	// Issuer and Label come from an otpauth URI; both may be empty.
	Issuer string
	Label  string
}

// Validate checks the parameters of a key built by hand or loaded from the
// store.
func (k Key) Validate() error {
	if _, err := NormalizeSecret(k.Secret.Reveal()); err != nil {
		return err
	}
	if _, err := ParseAlgorithm(string(k.Algorithm)); err != nil {
		return err
	}
	if k.Digits != 6 && k.Digits != 8 {
		return fmt.Errorf("TOTP digits must be 6 or 8, not %d", k.Digits)
	}
	if k.Period <= 0 || k.Period%time.Second != 0 {
		return fmt.Errorf("TOTP period must be a positive whole number of seconds, not %v", k.Period)
	}
	return nil
}

// ErrInvalidSecret is wrapped by every secret-parsing error.
var ErrInvalidSecret = errors.New("invalid TOTP secret")

// NormalizeSecret turns a base32 secret as people paste it (any case, with
// spaces, tabs or hyphens between groups, with or without "=" padding) into
// upper case base32 without padding. Errors name the first bad character and
// its 1-based position in the input, never the secret.
func NormalizeSecret(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	pad := 0
	pos := 0
	for _, r := range s {
		pos++
		switch {
		case r == ' ' || r == '\t' || r == '-' || r == '\u00a0':
			continue
		case r == '=':
			pad++
			continue
		case pad > 0:
			return "", fmt.Errorf("%w: character %s at position %d follows '=' padding", ErrInvalidSecret, describeRune(r), pos)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '2' && r <= '7':
			b.WriteRune(r)
		default:
			hint := ""
			switch r {
			case '0', '1', '8', '9':
				hint = " (base32 has no 0, 1, 8 or 9)"
			}
			return "", fmt.Errorf("%w: character %s at position %d is not base32 (A-Z, 2-7)%s", ErrInvalidSecret, describeRune(r), pos, hint)
		}
	}
	out := b.String()
	if out == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	// 8 base32 characters carry 5 bytes; a group ending in 1, 3 or 6
	// characters cannot come from whole bytes.
	switch len(out) % 8 {
	case 1, 3, 6:
		return "", fmt.Errorf("%w: %d characters is not a whole number of bytes in base32 (a character missing or extra?)", ErrInvalidSecret, len(out))
	}
	if pad > 0 && (len(out)+pad)%8 != 0 {
		return "", fmt.Errorf("%w: wrong amount of '=' padding", ErrInvalidSecret)
	}
	return out, nil
}

func describeRune(r rune) string {
	if r == utf8.RuneError {
		return "(invalid UTF-8)"
	}
	if r < 0x20 || r == 0x7f || r > 0x7e {
		return fmt.Sprintf("%U", r)
	}
	return strconv.QuoteRune(r)
}

// ParseSecret returns a key for a bare secret with the default parameters
// (SHA1, 6 digits, 30 seconds), the ones every authenticator assumes.
func ParseSecret(s string) (Key, error) {
	n, err := NormalizeSecret(s)
	if err != nil {
		return Key{}, err
	}
	return Key{Secret: secret.New(n), Algorithm: DefaultAlgorithm, Digits: DefaultDigits, Period: DefaultPeriod}, nil
}

// Parse accepts either an otpauth:// URI or a bare secret.
func Parse(s string) (Key, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 8 && strings.EqualFold(t[:8], "otpauth:") {
		return ParseURI(t)
	}
	return ParseSecret(t)
}

// ErrInvalidURI is wrapped by every otpauth URI error.
var ErrInvalidURI = errors.New("invalid otpauth URI")

// ParseURI validates an otpauth://totp/LABEL?secret=...&issuer=...&algorithm=...&digits=...&period=...
// URI (the Key URI Format of Google Authenticator). Errors never include the
// URI, which holds the secret.
func ParseURI(s string) (Key, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		// url's errors quote the whole input: say only what kind it was.
		return Key{}, fmt.Errorf("%w: not a URL", ErrInvalidURI)
	}
	if !strings.EqualFold(u.Scheme, "otpauth") {
		return Key{}, fmt.Errorf("%w: scheme must be otpauth", ErrInvalidURI)
	}
	switch strings.ToLower(u.Host) {
	case "totp":
	case "hotp":
		return Key{}, fmt.Errorf("%w: HOTP (counter-based) keys are not supported; rotator needs a TOTP (time-based) key", ErrInvalidURI)
	default:
		return Key{}, fmt.Errorf("%w: type %q is not totp", ErrInvalidURI, clip.String(u.Host, 19))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Key{}, fmt.Errorf("%w: malformed query", ErrInvalidURI)
	}
	for name := range q {
		if len(q[name]) > 1 {
			return Key{}, fmt.Errorf("%w: parameter %q given %d times", ErrInvalidURI, clip.String(name, 19), len(q[name]))
		}
	}
	rawSecret := q.Get("secret")
	if rawSecret == "" {
		return Key{}, fmt.Errorf("%w: no secret parameter", ErrInvalidURI)
	}
	norm, err := NormalizeSecret(rawSecret)
	if err != nil {
		return Key{}, fmt.Errorf("%w: secret parameter: %w", ErrInvalidURI, err)
	}
	k := Key{Secret: secret.New(norm), Algorithm: DefaultAlgorithm, Digits: DefaultDigits, Period: DefaultPeriod}
	if a := q.Get("algorithm"); a != "" {
		if k.Algorithm, err = ParseAlgorithm(a); err != nil {
			return Key{}, fmt.Errorf("%w: %w", ErrInvalidURI, err)
		}
	}
	if d := q.Get("digits"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || (n != 6 && n != 8) {
			return Key{}, fmt.Errorf("%w: digits must be 6 or 8, not %q", ErrInvalidURI, clip.String(d, 19))
		}
		k.Digits = n
	}
	if p := q.Get("period"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 24*3600 {
			return Key{}, fmt.Errorf("%w: period must be a positive number of seconds, not %q", ErrInvalidURI, clip.String(p, 19))
		}
		k.Period = time.Duration(n) * time.Second
	}
	// The label is "issuer:account" or "account"; the issuer parameter wins.
	label := strings.TrimPrefix(u.Path, "/")
	if iss, acct, ok := strings.Cut(label, ":"); ok {
		k.Issuer = strings.TrimSpace(iss)
		label = strings.TrimSpace(acct)
	}
	k.Label = label
	if iss := q.Get("issuer"); iss != "" {
		k.Issuer = iss
	}
	if !utf8.ValidString(k.Label) || !utf8.ValidString(k.Issuer) {
		return Key{}, fmt.Errorf("%w: label or issuer is not valid UTF-8", ErrInvalidURI)
	}
	return k, nil
}

// URI renders the key as an otpauth URI. It contains the secret.
func (k Key) URI() secret.String {
	v := url.Values{}
	v.Set("secret", k.Secret.Reveal())
	if k.Issuer != "" {
		v.Set("issuer", k.Issuer)
	}
	v.Set("algorithm", string(k.Algorithm))
	v.Set("digits", strconv.Itoa(k.Digits))
	v.Set("period", strconv.Itoa(int(k.Period/time.Second)))
	label := k.Label
	if k.Issuer != "" {
		label = k.Issuer + ":" + label
	}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + label, RawQuery: v.Encode()}
	return secret.New(u.String())
}
