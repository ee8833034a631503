package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// TestTemplateSuggest: suggest proposes the fields of a saved sign-in page
// and of a change-password page as fragments that make a valid template.
func TestTemplateSuggest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	login := filepath.Join(dir, "login.html")
	if err := os.WriteFile(login, []byte(`<!doctype html><title>Sign in to Example</title>
<form action="/session" method="post">
  <label for="acct">Email or phone</label> <input id="acct" name="acct" type="text">
  <label for="pw">Password</label> <input id="pw" name="pw" type="password">
  <a href="/forgot">Forgot password?</a>
  <button type="submit" class="primary">Sign in</button>
</form>
<form action="/search"><input name="q" type="search" placeholder="Search"><button>Go</button></form>`), 0o644); err != nil {
		t.Fatal(err)
	}
	change := filepath.Join(dir, "change.html")
	if err := os.WriteFile(change, []byte(`<!doctype html><title>Security</title>
<form method="post"><h2>Change your password</h2>
  <input type="password" name="old" placeholder="Current password">
  <input type="password" name="pw1" placeholder="New password">
  <input type="password" name="pw2" placeholder="Repeat new password">
  <input type="submit" value="Update password">
</form>`), 0o644); err != nil {
		t.Fatal(err)
	}
	suggest := func(file string) string {
		t.Helper()
		out, err := rotatorCmd(filepath.Join(dir, "data"), "template", "suggest", file).Output()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	out := suggest(login)
	for _, want := range []string{"login:", "- fill: ['#acct', 'input[name=\"acct\"]'", "value: '{{ username }}'",
		"- fill: ['#pw', 'input[name=\"pw\"]'", "value: '{{ password }}'", `- click: button[type="submit"]`, "# username: confidence 0.90"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, `name="q"`) {
		t.Errorf("the search box was taken for a field:\n%s", out)
	}
	loginFrag := out
	changeFrag := suggest(change)
	for _, want := range []string{"change:", `input[name="old"]`, "value: '{{ new_password }}'", `input[name="pw2"]`, `input[type="submit"]`} {
		if !strings.Contains(changeFrag, want) {
			t.Errorf("no %q in\n%s", want, changeFrag)
		}
	}
	// The two fragments make a template that validates.
	indent := func(s string) string { return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") + "\n" }
	tpl := "name: example\nbase_url: https://example.com/\nflows:\n" + indent(loginFrag) + indent(changeFrag) +
		"  logout:\n    - goto: /logout\n"
	if _, diags := templates.Parse("example.yaml", []byte(tpl)); diags.HasErrors() {
		t.Fatalf("%v\n%s", diags.Err(), tpl)
	}
}
