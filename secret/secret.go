// Package secret keeps secret values (passwords, TOTP secrets, cookies,
// tokens) out of logs, errors and output, and encrypts them at rest.
//
// # Redaction
//
// [String] holds a secret in memory. Every way Go prints a value (fmt verbs,
// log/slog, encoding/json, encoding.TextMarshaler, YAML) shows "[redacted]";
// only [String.Reveal] returns the plain text, so each place that needs the
// secret itself says so in the code.
//
// # Encryption at rest
//
// [Sealer] encrypts with AES-256-GCM under a key derived from the vault's
// master key with HKDF-SHA256. Every ciphertext is bound to associated data
// naming where it belongs (vault, account, field), so a ciphertext copied to
// another row or field fails to open. See [Sealer.Seal].
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a [String] prints as.
const Redacted = "[redacted]"

// String is a secret text. Its zero value is the empty secret.
type String struct {
	v string
}

// New wraps s as a secret.
func New(s string) String { return String{v: s} }

// Reveal returns the secret text. Call it only where the plain text is
// needed: to type it into a page, to encrypt it, or on an explicit request to
// show it (account show --reveal).
func (s String) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.v == "" }

// Equal reports whether two secrets hold the same text.
func (s String) Equal(o String) bool { return s.v == o.v }

// String implements fmt.Stringer.
func (String) String() string { return Redacted }

// GoString implements fmt.GoStringer, for %#v.
func (String) GoString() string { return "secret.String(" + Redacted + ")" }

// Format implements fmt.Formatter so that no verb (%s, %q, %x, %d...) prints
// the secret.
func (String) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte("secret.String(" + Redacted + ")"))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// LogValue implements slog.LogValuer.
func (String) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML keys and more).
func (String) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalJSON implements json.Marshaler.
func (String) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalYAML implements yaml.Marshaler.
func (String) MarshalYAML() (any, error) { return Redacted, nil }
