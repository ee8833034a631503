package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
)

// TestRotateCLI rotates through the command line as an administrator would
// and checks the exit codes, the rate limit, and that the demo site's admin
// endpoint reports the password `account show --reveal` gives as current.
func TestRotateCLI(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	site := demosite.New(demosite.Options{})
	if err := site.AddUser(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234", TwoStep: true}); err != nil {
		t.Fatal(err)
	}
	if err := site.AddUser(demosite.UserSpec{Name: "cap", Password: "Cap-pass-123456", Captcha: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "data")
	noGap(t, data)
	if out, code := runRotator(t, data, "", "init"); code != 0 {
		t.Fatal(out)
	}
	for _, u := range [][2]string{{"alice", "Alice-pass-1234"}, {"cap", "Cap-pass-123456"}} {
		if out, code := runRotator(t, data, u[1]+"\n", "account", "add", u[0], "--template", "demo-social",
			"--username", u[0], "--url", srv.URL+"/", "--password-stdin"); code != 0 {
			t.Fatal(out)
		}
	}
	adminPassword := func(name string) string {
		resp, err := http.Get(srv.URL + "/admin/users/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st demosite.UserState
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.Password
	}
	revealed := func(name string) string {
		// The output holds the password: never printed by the test.
		out, code := runRotator(t, data, "", "account", "show", name, "--reveal")
		if code != 0 {
			t.Fatalf("account show --reveal: exit %d", code)
		}
		m := regexp.MustCompile(`(?m)^password: +(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatal("no password line in account show --reveal")
		}
		return m[1]
	}

	for i := range 2 {
		out, code := runRotator(t, data, "", "rotate", "alice")
		if code != 0 || !strings.Contains(out, "alice: rotation succeeded") {
			t.Fatalf("rotation %d: exit %d\n%s", i+1, code, out)
		}
		if got, want := adminPassword("alice"), revealed("alice"); got != want {
			t.Fatalf("rotation %d: the site has another password than the vault's current", i+1)
		}
	}
	out, code := runRotator(t, data, "", "rotate", "alice")
	if code != exitRefused || !strings.Contains(out, "next change allowed at") {
		t.Fatalf("third rotation: exit %d\n%s", code, out)
	}
	out, _ = runRotator(t, data, "", "schedule")
	if !regexp.MustCompile(`(?m)^alice +@daily +active +\S+ \S+ \S+ +cap: 2 changes in the 24 hours before`).MatchString(out) {
		t.Errorf("schedule does not show the cap:\n%s", out)
	}
	out, _ = runRotator(t, data, "", "history", "alice")
	if strings.Count(out, "on the site  rotation") != 2 || strings.Contains(out, "Alice-pass") {
		t.Errorf("history:\n%s", out)
	}

	out, code = runRotator(t, data, "", "rotate", "cap")
	if code != exitPaused || !strings.Contains(out, "paused for an operator: captcha challenge") {
		t.Fatalf("captcha: exit %d\n%s", code, out)
	}
	out, _ = runRotator(t, data, "", "flags")
	if !strings.Contains(out, "cap") || !strings.Contains(out, "paused") {
		t.Errorf("flags:\n%s", out)
	}
	out, code = runRotator(t, data, "", "audit", "verify")
	if code != 0 || !strings.Contains(out, "chain intact") {
		t.Errorf("audit: %d %s", code, out)
	}
}
