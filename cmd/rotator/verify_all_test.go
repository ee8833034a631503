package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/demosite"
)

// TestVerifyAll: after the site's redesign every account still signs in,
// and the report shows which steps only a later alternative found; an
// account that cannot sign in fails the run, with its step.
func TestVerifyAll(t *testing.T) {
	t.Parallel()
	site := demosite.New(demosite.Options{})
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "data")
	if out, code := runRotator(t, data, "", "init"); code != 0 {
		t.Fatal(out)
	}
	for _, u := range [][2]string{{"alice", "Alice-pass-1234"}, {"carl", "Carl-pass-12345"}} {
		if err := site.AddUser(demosite.UserSpec{Name: u[0], Password: u[1], TwoStep: u[0] == "carl"}); err != nil {
			t.Fatal(err)
		}
		if out, code := runRotator(t, data, u[1]+"\n", "account", "add", u[0], "--template", "demo-social",
			"--username", u[0], "--url", srv.URL+"/", "--password-stdin"); code != 0 {
			t.Fatal(out)
		}
	}
	if err := site.SetLayout("v2"); err != nil {
		t.Fatal(err)
	}
	out, code := runRotator(t, data, "", "verify", "--all")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"template demo-social: 2 of 2 account(s) signed in",
		`login  2         fill [#username | #user-login]`,
		`matched #user-login x2  <- not the first alternative: the page may have changed`,
		"alice: signed in", "carl: signed in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// A password the site no longer takes.
	if err := site.AddUser(demosite.UserSpec{Name: "dan", Password: "Dan-pass-123456"}); err != nil {
		t.Fatal(err)
	}
	if out, code := runRotator(t, data, "Wrong-pass-1234\n", "account", "add", "dan", "--template", "demo-social",
		"--username", "dan", "--url", srv.URL+"/", "--password-stdin"); code != 0 {
		t.Fatal(out)
	}
	out, code = runRotator(t, data, "", "verify", "--all")
	if code != 1 || !strings.Contains(out, "2 of 3 account(s) signed in") || !strings.Contains(out, "dan: failed: login flow, step") ||
		!strings.Contains(out, "1 account(s) did not sign in") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
