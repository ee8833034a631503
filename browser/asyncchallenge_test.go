package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/templates"
)

// A site that signs in by a request of its own (no navigation) answers the
// sign-in with a CAPTCHA a moment later: the run pauses for an operator,
// by the template's detector and by the built-in one, instead of failing
// the step that waits for the signed-in page (a failed sign-in).
func TestChallengeAfterAnAsyncSignInPauses(t *testing.T) {
	t.Parallel()
	for _, builtin := range []bool{false, true} {
		t.Run(fmt.Sprint("builtin ", builtin), func(t *testing.T) {
			t.Parallel()
			widget := `<div id="captcha" style="width:300px;height:80px">Prove you are human</div>`
			if builtin {
				widget = `<iframe src="/recaptcha/api2/anchor?k=x" width="300" height="80"></iframe>`
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/login":
					time.Sleep(300 * time.Millisecond)
					fmt.Fprint(w, "challenge")
				case "/home":
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, `<p>signed in</p>`)
				case "/login":
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprintf(w, `<!doctype html><h1>Sign in</h1><input id="username"><input id="password" type="password">
<button id="go">Sign in</button><div id="out"></div>
<script>document.getElementById("go").addEventListener("click", () => fetch("/api/login", {method: "POST"}).then(r => r.text()).then(() => document.getElementById("out").innerHTML = %q))</script>`, widget)
				default:
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, `<p>widget</p>`)
				}
			}))
			t.Cleanup(srv.Close)
			challenges := `challenges:
  - name: site-captcha
    kind: captcha
    selector: "#captcha"
`
			if builtin {
				challenges = ""
			}
			tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
`+challenges+`flows:
  login:
    - goto: /login
    - fill: "#username"
      value: "{{ username }}"
    - fill: "#password"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /home}
      timeout: 3s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
			r := exfilRunner(t, tpl, srv.URL)
			err := r.RunFlow(ctxFor(t), templates.FlowLogin)
			var ce *ChallengeError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a challenge (a pause for an operator)", err)
			}
			if ce.Step != "5" {
				t.Errorf("challenge at step %s, want 5", ce.Step)
			}

			// An operator who gets the page past it resumes the flow: the
			// step that waited runs again, and passes.
			r = exfilRunner(t, tpl, srv.URL)
			held := 0
			r.OnChallenge = func(ctx context.Context, c *ChallengeError) error {
				held++
				_, err := navigate(ctx, r.Page, srv.URL+"/home")
				return err
			}
			if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil || held != 1 {
				t.Errorf("resumed by an operator (%d holds): %v", held, err)
			}
		})
	}
}
