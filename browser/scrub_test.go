package browser

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// A sign-in form sent by GET puts the password in the URL; a step that then
// fails quotes the page's URL. Neither the step's error text nor its
// reported URL may hold the password, in any encoding a browser or a page
// script gives it: generated passwords contain '*' and '!', which the
// browser's form encoding writes unlike Go's url.QueryEscape.
func TestStepErrorsHoldNoSecret(t *testing.T) {
	t.Parallel()
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /home}
      timeout: 2s # fails by design: no need to wait out the usual deadline
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	for _, pw := range []string{exfilPassword, "Ab3*kQ!z9 Secret~x"} {
		srv := site(t, map[string]string{
			"/login": `<!doctype html><form action="/trust"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
			"/trust": `<!doctype html><h1>Almost there</h1><script>throw new Error(location.search)</script>`,
		})
		r := exfilRunner(t, tpl, srv.URL)
		r.Values.Password = secret.New(pw)
		err := r.RunFlow(ctxFor(t), templates.FlowLogin)
		var se *StepError
		if !errors.As(err, &se) {
			t.Fatalf("got %v", err)
		}
		for _, form := range []string{pw, formEncode(pw), uriComponent(pw), "kQ%21z9"} {
			if strings.Contains(err.Error(), form) || strings.Contains(se.URL, form) {
				t.Errorf("the step's error or URL holds the password (%s form): %s | %s", "a browser", err.Error(), se.URL)
			}
		}
		if !strings.Contains(err.Error(), "/trust") {
			t.Errorf("the error no longer says where the page is: %v", err)
		}
	}
}

func TestFormEncodings(t *testing.T) {
	if got := formEncode("a*b~c d!"); got != "a*b%7Ec+d%21" {
		t.Errorf("formEncode = %s", got)
	}
	if got := uriComponent("a*b~c d!'"); got != "a*b~c%20d!'" {
		t.Errorf("uriComponent = %s", got)
	}
}
