package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/demosite"
)

// TestVerifyAll: after the site's redesign the accounts still sign in, and
// the report shows which steps only a later alternative found; an account
// that cannot sign in fails the run, with its step. (One run: each account
// is a real sign-in.)
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
	// A password the site no longer takes.
	if err := site.AddUser(demosite.UserSpec{Name: "dan", Password: "Dan-pass-123456"}); err != nil {
		t.Fatal(err)
	}
	if out, code := runRotator(t, data, "Wrong-pass-1234\n", "account", "add", "dan", "--template", "demo-social",
		"--username", "dan", "--url", srv.URL+"/", "--password-stdin"); code != 0 {
		t.Fatal(out)
	}
	if err := site.SetLayout("v2"); err != nil {
		t.Fatal(err)
	}
	out, code := runRotator(t, data, "", "verify", "--all")
	if code != 1 {
		t.Errorf("exit %d, want 1: one account did not sign in\n%s", code, out)
	}
	for _, want := range []string{
		"template demo-social: 2 of 3 account(s) signed in",
		`login  2         fill [#username | #user-login]`,
		`matched #user-login x3  <- not the first alternative: the page may have changed`,
		"alice: signed in", "carl: signed in", "dan: failed: login flow, step",
		"1 account(s) did not sign in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
