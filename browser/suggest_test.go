package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/importer"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// What `rotator template suggest` proposes for a sign-in form in an open
// shadow root (its code field too) and for a change form two roots deep
// runs as it is: its fills, totp and clicks, >>> chains all, sign in and
// change the password.
func TestSuggestedTemplateRunsThroughShadowRoots(t *testing.T) {
	t.Parallel()
	const oldPw, newPw = "Old-Suggested-Pw-1", "New-Suggested-Pw-2"
	s := browser.NewShadowSite(t, oldPw)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page := browser.NewTestPage(t)
	suggest := func(path string) string {
		t.Helper()
		page.Context(ctx).MustNavigate(s.URL + path).MustWaitLoad()
		fields, err := browser.DetectFields(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		frag, err := importer.Suggest(s.URL+path, fields, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return "  " + strings.ReplaceAll(strings.TrimSpace(string(frag)), "\n", "\n  ") + "\n"
	}
	yaml := "name: suggested\nbase_url: " + s.URL + "/\nflows:\n" + suggest("/login") + "    - expect: {url: /home}\n" +
		suggest("/settings") + "    - expect: {text: your password was changed}\n  logout: [{goto: /logout}]\n"
	for _, want := range []string{"- fill: ['x-login >>> #username'", "- totp: ['x-login >>> #otp'", "- click: x-login >>> ",
		"- fill: ['x-app >>> x-change-password >>> #confirm'", "- click: x-app >>> x-change-password >>> "} {
		if !strings.Contains(yaml, want) {
			t.Errorf("no %q in\n%s", want, yaml)
		}
	}
	tpl, diags := templates.Parse("suggested.yaml", []byte(yaml))
	if diags.HasErrors() {
		t.Fatalf("%v\n%s", diags.Err(), yaml)
	}
	r := &browser.Runner{Template: tpl, BaseURL: s.URL, Page: page, ArtifactDir: t.TempDir(),
		Values: browser.Values{Username: "alice", Password: secret.New(oldPw), NewPassword: secret.New(newPw),
			TOTP: func(context.Context) (secret.String, error) { return secret.New(browser.ShadowCode), nil }}}
	for _, flow := range []string{templates.FlowLogin, templates.FlowChange} {
		if err := r.RunFlow(ctx, flow); err != nil {
			t.Fatalf("%s: %v\n%s", flow, err, yaml)
		}
	}
	if s.Current() != newPw {
		t.Fatal("the site does not hold the new password")
	}
}
