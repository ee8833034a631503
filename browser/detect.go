package browser

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/go-rod/rod"
)

// detectJS is the form-field detector (see detect.js); it returns, per
// field it recognises, the element and what it is. It is run inside a
// function that defines deepJS's helpers first.
//
//go:embed detect.js
var detectJS string

// Field roles the detector tells apart.
const (
	RoleUsername        = "username"
	RolePassword        = "password" // the password to sign in with, or the current one on a change form
	RoleNewPassword     = "new_password"
	RoleConfirmPassword = "confirm_password"
	RoleTOTP            = "totp"
	RoleSubmit          = "submit"
)

// DetectedField is one form field (or submit control) the detector
// recognised.
type DetectedField struct {
	Role string `json:"role"`
	// Score is its confidence, 0 to 1.
	Score float64 `json:"score"`
	// Why says what gave it away ("autocomplete=username").
	Why string `json:"why"`
	// Selectors are unique selectors for it, most readable first; chains
	// through the hosts ("x-login >>> #password") in a shadow root.
	Selectors []string `json:"selectors"`
	Tag       string   `json:"tag"`
	Type      string   `json:"type"`
	Label     string   `json:"label"`
	// Mark is the element's data-rt-n attribute, for the scoring harness
	// only (the detector never reads it).
	Mark string `json:"n,omitempty"`
}

// DetectFields runs the detector on the page: its top document and the
// open shadow roots in it, whose fields get ">>>" chain selectors.
func DetectFields(ctx context.Context, page *rod.Page) ([]DetectedField, error) {
	return detectWith(ctx, page, "")
}

// detectWith runs the detector; mark names an attribute whose value the
// harness wants back with each field (empty: none).
func detectWith(ctx context.Context, page *rod.Page, mark string) ([]DetectedField, error) {
	js := `(mark) => {` + deepJS + `
	return (` + detectJS + `)().map(({el, ...r}) => ({...r, n: mark ? (el.getAttribute(mark) || "") : ""}));
}`
	res, err := page.Context(ctx).Eval(js, mark)
	if err != nil {
		return nil, fmt.Errorf("detect form fields: %w", err)
	}
	var out []DetectedField
	if err := res.Value.Unmarshal(&out); err != nil {
		return nil, fmt.Errorf("detect form fields: %w", err)
	}
	return out, nil
}
