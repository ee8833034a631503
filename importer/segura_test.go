package importer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// Every sample imports into a template that validates, and every command
// line of the source is a step of the template or a note: nothing is
// dropped silently.
func TestSeguraSamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/segura/*.psc")
	if len(files) != 9 {
		t.Fatalf("%d samples", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name, _, _ := strings.Cut(filepath.Base(f), ".")
			res, err := Segura(name, src)
			if err != nil {
				t.Fatal(err)
			}
			tpl, diags := templates.Parse(name+".yaml", res.YAML)
			if diags.HasErrors() {
				t.Fatalf("%v\n%s", diags.Err(), res.YAML)
			}
			for _, fl := range []string{templates.FlowLogin, templates.FlowChange, templates.FlowLogout} {
				if _, ok := tpl.Flows.Get(fl); !ok {
					t.Errorf("no %s flow", fl)
				}
			}
			// A verify flow, when there is one, signs in with the new
			// password; otherwise rotator's own verify (logout, login)
			// is used.
			if tpl.Flows.Verify != nil && !templates.SignsIn(tpl.Flows.Verify) {
				t.Errorf("the verify flow does not sign in:\n%s", res.YAML)
			}
			// Nothing dropped: each command line became a step or a note.
			c := &segConv{d: &doc{params: map[string]string{}, flows: map[string][]step{}}}
			c.parse(string(src))
			covered := map[int]bool{}
			for _, s := range c.steps {
				covered[s.line] = true
			}
			for _, n := range c.notes {
				covered[n.Line] = true
			}
			for i, line := range strings.Split(string(src), "\n") {
				cmd, _ := splitArg(strings.TrimSpace(line))
				switch cmd {
				case "", "new-action", "timeout", "user-agent":
					continue
				}
				if strings.HasPrefix(cmd, "#") {
					if isSeguraCommand(strings.TrimPrefix(cmd, "#")) && !covered[i+1] {
						t.Errorf("line %d, commented-out command, is not reported: %s", i+1, line)
					}
					continue
				}
				if !covered[i+1] {
					t.Errorf("line %d is neither imported nor reported: %s", i+1, line)
				}
			}
			// No placeholder is left in a step (comments and the
			// parameters' descriptions may name them).
			for _, l := range strings.Split(string(res.YAML), "\n") {
				l = strings.TrimSpace(l)
				if strings.Contains(l, "[#") && !strings.HasPrefix(l, "#") && !strings.Contains(l, "description:") {
					t.Errorf("a placeholder is left: %s", l)
				}
			}
		})
	}
}

func TestSeguraFacebookFlows(t *testing.T) {
	src, _ := os.ReadFile("testdata/segura/Facebook.psc")
	res, err := Segura("facebook", src)
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := templates.Parse("facebook.yaml", res.YAML)
	kinds := func(flow string) string {
		steps, _ := tpl.Flows.Get(flow)
		var ks []string
		for _, s := range steps {
			ks = append(ks, string(s.Kind))
		}
		return strings.Join(ks, " ")
	}
	for flow, want := range map[string]string{
		"login":  "goto log expect fill fill click sleep log expect log", // no check of the host name (line 7)
		"change": "goto sleep expect log expect fill fill fill click sleep",
		"logout": "click sleep",
	} {
		if got := kinds(flow); got != want {
			t.Errorf("%s: %s\nwant     %s", flow, got, want)
		}
	}
	// The source's second sign-in is rotator's own verify: logout, then
	// login with the new password.
	if tpl.Flows.Verify != nil {
		t.Errorf("a verify flow was made from the source's second sign-in:\n%s", res.YAML)
	}
	if !strings.Contains(string(res.YAML), "# Login with old passsword") {
		t.Error("the source's section comments are lost")
	}
}

// A click the source goes on filling the form after (TSLEE_WEB opens its
// organisation drop-down, line 10, then sets the organisation, line 12)
// is not the sign-in's submit: the login flow runs to the real one (line
// 14) and its check (line 17).
func TestSeguraSignInEndsAtItsSubmit(t *testing.T) {
	src, _ := os.ReadFile("testdata/segura/TSLEE_WEB.psc")
	res, err := Segura("tslee", src)
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := templates.Parse("tslee.yaml", res.YAML)
	var lines []string
	for _, st := range tpl.Flows.Login {
		lines = append(lines, string(st.Kind))
	}
	if got, want := strings.Join(lines, " "), "goto sleep fill fill sleep click sleep prop sleep click expect"; got != want {
		t.Errorf("login: %s\nwant   %s\n%s", got, want, res.YAML)
	}
	if first := tpl.Flows.Change[0]; first.Kind != templates.StepClick || first.Target.String() != "#link_chgpass" {
		t.Errorf("the change flow starts with %s %v", first.Kind, first.Target)
	}
}

// No source gets a verify flow of its own: rotator's verify, logout then
// login with the new password, is used (a rotation must not succeed on
// what a page says, nor fail on the source's own checks of a second
// sign-in), and the notes say why. What the source does before signing in
// again is the logout flow; a source that never signs out gets a
// placeholder that stops with a message.
func TestSeguraVerifySignsIn(t *testing.T) {
	const head = "start-at https://x.example/\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\n" +
		"new-action\nset-location https://x.example/password\nfill #cur [#CURRENT_PASSWORD#]\nfill #n [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"
	for _, tc := range []struct {
		name, tail  string
		verify      bool
		logoutFirst string // the logout flow's first step kind
		note        string
	}{
		{"confirmation only", "", false, "expect", "a confirmation message does not show that it works: no verify flow was made"},
		{"signs out and in, checks", "new-action\nclick #logout\nnew-action\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\ntest-location /home\n",
			false, "click", "rotator's own verify does that"},
		{"signs in again, never checks", "new-action\nclick #logout\nnew-action\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\n",
			false, "click", "rotator's own verify does that"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Segura("x", []byte(head+tc.tail))
			if err != nil {
				t.Fatal(err)
			}
			tpl, diags := templates.Parse("x.yaml", res.YAML)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if (tpl.Flows.Verify != nil) != tc.verify {
				t.Errorf("verify flow: %v, want %v\n%s", tpl.Flows.Verify != nil, tc.verify, res.YAML)
			}
			if tpl.Flows.Verify != nil && !templates.SignsIn(tpl.Flows.Verify) {
				t.Errorf("the verify flow does not sign in:\n%s", res.YAML)
			}
			if len(tpl.Flows.Logout) == 0 || string(tpl.Flows.Logout[0].Kind) != tc.logoutFirst {
				t.Errorf("logout flow %+v", tpl.Flows.Logout)
			}
			if tc.note != "" {
				found := false
				for _, n := range res.Notes {
					found = found || strings.Contains(n.Msg, tc.note)
				}
				if !found {
					t.Errorf("no note saying %q: %v", tc.note, res.Notes)
				}
			}
		})
	}
}

// start-at becomes base_url and a relative goto, and every URL on its site
// (set-location, test-location) a path: the account's --url decides the
// host, placeholders included. A URL on another site stays as written.
func TestSeguraURLsAreRelative(t *testing.T) {
	for _, tc := range []struct {
		file, base string
		gotos      []string
		urls       []string
	}{
		{"Twitter.psc", "https://mobile.twitter.com/", []string{"/login", "/settings/password"},
			[]string{"/login", "/settings/password", "/settings"}},
		{"OP5.psc", "https://host.invalid:8553/", []string{"/monitor/index.php/auth/login", "/monitor/index.php/change_password"}, nil},
	} {
		src, err := os.ReadFile("testdata/segura/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Segura("x", src)
		if err != nil {
			t.Fatal(err)
		}
		tpl, diags := templates.Parse("x.yaml", res.YAML)
		if tpl == nil {
			t.Fatalf("%s: %v", tc.file, diags.Err())
		}
		if tpl.BaseURL != tc.base {
			t.Errorf("%s: base_url %q, want %q", tc.file, tpl.BaseURL, tc.base)
		}
		var gotos, urls []string
		for _, flow := range [][]templates.Step{tpl.Flows.Login, tpl.Flows.Change, tpl.Flows.Verify} {
			for _, st := range flow {
				switch {
				case st.Kind == templates.StepGoto:
					gotos = append(gotos, st.URL.Raw)
				case st.Kind == templates.StepExpect && st.Cond.Kind == templates.CondURL:
					urls = append(urls, st.Cond.Pattern)
				}
			}
		}
		if !slices.Equal(gotos, tc.gotos) {
			t.Errorf("%s: gotos %q, want %q", tc.file, gotos, tc.gotos)
		}
		if tc.urls != nil && !slices.Equal(urls, tc.urls) {
			t.Errorf("%s: URL checks %q, want %q", tc.file, urls, tc.urls)
		}
		if strings.Contains(string(res.YAML), "param.ip") {
			t.Errorf("%s: the host became a parameter:\n%s", tc.file, res.YAML)
		}
	}
	// A set-location to another site is kept whole.
	res, err := Segura("x", []byte("start-at https://x.example/login\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\n"+
		"set-location https://accounts.other.example/password\nfill #n [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.YAML), "goto: https://accounts.other.example/password") || !strings.Contains(string(res.YAML), "goto: /login") {
		t.Errorf("gotos:\n%s", res.YAML)
	}
}

// A selector quoted whole, even twice, loses its quotes, and the result
// validates (quoted, it is no CSS a browser accepts).
func TestSeguraQuotedSelectors(t *testing.T) {
	res, err := Segura("x", []byte("start-at https://x.example/\nfill '\"#u\"' [#USERNAME#]\nfill \"div[jsname=YPqjbf] input[type=password]\" [#CURRENT_PASSWORD#]\nclick #s\n"+
		"fill '#n' [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, diags := templates.Parse("x.yaml", res.YAML)
	if tpl == nil || diags.Err() != nil {
		t.Fatalf("%v\n%s", diags.Err(), res.YAML)
	}
	var got []string
	for _, st := range append(tpl.Flows.Login, tpl.Flows.Change...) {
		if st.Kind == templates.StepFill {
			got = append(got, st.Target.String())
		}
	}
	want := []string{"#u", "div[jsname=YPqjbf] input[type=password]", "#n"}
	if !slices.Equal(got, want) {
		t.Errorf("fills %q, want %q", got, want)
	}
}

func TestSeguraNotes(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"OP5.psc", 3, "base_url is the placeholder https://host.invalid:8553/; give each account --url"},
		{"OP5.psc", 15, "commented out in the source"},
		{"OP5.psc", 40, "imported as a check that div:contains(\"Password changed successfully\") exists"},
		{"TSLEE_WEB.psc", 32, "the jQuery pseudo-class :eq(1)"},
		{"TSLEE_WEB.psc", 12, "read as setting the value of"},
		{"Twitter.psc", 3, `user-agent "Safari" is not a user agent string`},
		{"SWS.psc", 14, "sleep 3 read as 3s"},
		{"Facebook.psc", 7, "test-location facebook.com checks only that the page is on the site's host"},
	} {
		src, _ := os.ReadFile("testdata/segura/" + tc.file)
		res, err := Segura("x", src)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range res.Notes {
			if n.Line == tc.line && strings.Contains(n.Msg, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no note at line %d saying %q: %v", tc.file, tc.line, tc.want, res.Notes)
		}
	}
	// A source the importer cannot make into a rotation is refused, with
	// the reason.
	for src, want := range map[string]string{
		"new-action\nfill #u [#USERNAME#]\n":                                    "no start-at",
		"start-at https://x.example/\nfill #p [#CURRENT_PASSWORD#]\nclick #s\n": "no step fills [#NEW_PASSWORD#]",
		"start-at https://x.example/\nfill #n [#NEW_PASSWORD#]\nclick #s\n":     "no sign-in",
		"start-at x\n": "not an absolute http or https URL",
	} {
		if _, err := Segura("x", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
	// A password set by a jQuery script is typed into the field instead:
	// a template never hands a secret to a script.
	res, err := Segura("x", []byte("start-at https://x.example/\nfill #u [#USERNAME#]\njscript $('#p').val('[#CURRENT_PASSWORD#]')\nclick #s\nfill #n [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tpl, diags := templates.Parse("x.yaml", res.YAML); tpl == nil || len(tpl.Flows.Login) != 4 || tpl.Flows.Login[2].Kind != templates.StepFill ||
		tpl.Flows.Login[2].Value.Raw != "{{ password }}" {
		t.Errorf("%v\n%s", diags.Err(), res.YAML)
	}
	res, err = Segura("x", []byte("start-at https://x.example/\nfill #u [#USERNAME#]\nprop #p value [#CURRENT_PASSWORD#]\nclick #s\nfill #n [#NEW_PASSWORD#]\nprop #n title [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tpl, diags := templates.Parse("x.yaml", res.YAML); tpl == nil || len(tpl.Flows.Login) != 4 || tpl.Flows.Login[2].Kind != templates.StepFill ||
		tpl.Flows.Login[2].Value.Raw != "{{ password }}" || strings.Contains(string(res.YAML), "title") {
		t.Errorf("%v\n%s", diags.Err(), res.YAML)
	}
	// A set-location rotator would not open is reported, not imported.
	res, err = Segura("x", []byte("start-at https://x.example/\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\nset-location file:///etc/passwd\nfill #n [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) == 0 || res.Notes[0].Line != 5 || !strings.Contains(res.Notes[0].Msg, "http and https URLs only") || strings.Contains(string(res.YAML), "file:") {
		t.Errorf("notes %v\n%s", res.Notes, res.YAML)
	}
	// An unknown command is reported with its line and kept as a comment.
	res, err = Segura("x", []byte("start-at https://x.example/\nfill #u [#USERNAME#]\nfill #p [#CURRENT_PASSWORD#]\nclick #s\nhover #menu\nfill #n [#NEW_PASSWORD#]\nclick #save\ntest-selector .ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) == 0 || res.Notes[0].Line != 5 || !strings.Contains(res.Notes[0].Msg, `unknown command "hover"`) {
		t.Errorf("notes %v", res.Notes)
	}
	if !strings.Contains(string(res.YAML), "senhasegura line 5, not imported: hover #menu") {
		t.Errorf("the unknown line is not kept as a comment:\n%s", res.YAML)
	}
}
