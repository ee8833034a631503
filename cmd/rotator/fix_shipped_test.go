package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
)

// `template fix --accept 1` repairs a deliberately broken selector in a
// copy of each shipped template, on the demo site's skin of that site: the
// change step that broke (the current password's field, renamed in the
// copy) gets the page's best candidate as its first alternative, and the
// rotation it then runs goes through: the site holds a new password.
func TestTemplateFixRepairsShippedTemplates(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for _, tc := range []struct{ skin, field, broken string }{
		{"facebook", `    - fill: "input[name=old_password]"`, `    - fill: "input[name=old_pw]"`},
		{"twitter", `    - fill: "input[name=\"settings[current_password]\"]"`, `    - fill: "input[name=\"settings[old_password]\"]"`},
		{"linkedin", `    - fill: "input#cp-current-pw"`, `    - fill: "input#cp-old-pw"`},
	} {
		// What template fix shows and writes is the same for each; the
		// facebook case checks the words.
		t.Run(tc.skin, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("..", "..", "templates", tc.skin+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(src), tc.field+"\n") != 1 {
				t.Fatalf("the %s template has no line %q", tc.skin, tc.field)
			}
			// The broken step waits 3 s, not the template's whole step
			// deadline, for a field that is not there.
			broken := strings.Replace(string(src), tc.field+"\n", tc.broken+"\n      timeout: 3s\n", 1)
			dir := t.TempDir()
			file := filepath.Join(dir, tc.skin+"-copy.yaml")
			if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			site := demosite.New(demosite.Options{})
			if err := site.SetLayout(tc.skin); err != nil {
				t.Fatal(err)
			}
			const initial = "Initial-pass-1234"
			if err := site.AddUser(demosite.UserSpec{Name: "fixer", Password: initial}); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(site.Handler())
			defer srv.Close()
			data := filepath.Join(dir, "data")
			noGap(t, data)
			if out, code := runRotator(t, data, "", "init"); code != 0 {
				t.Fatal(out)
			}
			if out, code := runRotator(t, data, initial+"\n", "account", "add", "fixer", "--template", tc.skin,
				"--username", "fixer", "--url", srv.URL+"/", "--password-stdin"); code != 0 {
				t.Fatal(out)
			}
			out, code := runRotator(t, data, "", "template", "fix", file, "--account", "fixer", "--flow", "change", "--accept", "1")
			if code != 0 || !strings.Contains(out, "ok: change flow passed") {
				t.Fatalf("exit %d\n%s", code, out)
			}
			fixed, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			brokenSel := strings.TrimPrefix(tc.broken, "    - fill: ")
			if !strings.Contains(string(fixed), ", "+brokenSel+"]\n      timeout: 3s\n") {
				t.Errorf("the step does not list the new selector before the broken one:\n%s", fixed)
			}
			if u, _ := site.User("fixer"); u.Password == initial {
				t.Error("the site still has the first password: the repaired template did not rotate")
			}
			if tc.skin != "facebook" {
				return
			}
			// The failed change step, where it is in the file and what the
			// page offers, numbered; what was written; the diff; and the
			// rest of the file as it was.
			for _, want := range []string{
				"\nfailed: change step 3, fill input[name=old_pw]\n",
				"\nwhere:  " + file + ":",
				"\nthe page offers instead:\n  1. \"input[name=\\\"old_password\\\"]\"",
				"\nwrote " + file + `: change step 3 tries input[name="old_password"] first` + "\n",
				"\n-    - fill: \"input[name=old_pw]\"\n+    - fill: [\"input[name=\\\"old_password\\\"]\", \"input[name=old_pw]\"]\n",
				"\nok: change flow passed\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
			if strings.Contains(out, initial) {
				t.Error("the output holds the password")
			}
			if want := strings.Replace(broken, tc.broken+"\n", `    - fill: ["input[name=\"old_password\"]", "input[name=old_pw]"]`+"\n", 1); string(fixed) != want {
				t.Errorf("the file changed elsewhere than the repaired step:\n%s", fixed)
			}
		})
	}
}
