package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// benchTemplate is a short sign-in: open the page, fill the username and
// the password, click the button that sends the form, and expect the page
// it leads to; with detectors of each kind, as a real template has.
const benchTemplate = `name: bench
base_url: http://127.0.0.1:1/
timeouts: {step: 10s, run: 1m}
challenges:
  - {name: captcha, kind: captcha, selector: ["#captcha-form", "form.human-check"]}
  - {name: trust, kind: trust_browser, url: /trust}
  - {name: locked, kind: blocked, text: This account is locked}
flows:
  login:
    - goto: /login
    - fill: "#username"
      value: "{{ username }}"
    - fill: "#password"
      value: "{{ password }}"
    - click: "#go"
    - expect: {visible: "#welcome"}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`

// BenchmarkSteps runs benchTemplate's login against a local site: the time
// of a whole flow, and of each kind of step in it (ms per step).
func BenchmarkSteps(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/login":
			fmt.Fprint(w, `<!doctype html><title>Sign in</title><form method="post" action="/home">
<input id="username" name="u"><input id="password" name="p" type="password"><button id="go">Sign in</button></form>`)
		case "/home":
			fmt.Fprint(w, `<!doctype html><title>Home</title><h1 id="welcome">Welcome</h1>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	inc, err := sharedBrowser(b).Rod().Incognito()
	if err != nil {
		b.Fatal(err)
	}
	defer inc.Close()
	page, err := inc.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		b.Fatal(err)
	}
	tpl, diags := templates.Parse("bench.yaml", []byte(benchTemplate))
	if tpl == nil {
		b.Fatal(diags.Err())
	}
	steps := map[templates.StepKind]time.Duration{}
	counts := map[templates.StepKind]int{}
	r := &Runner{Template: tpl, BaseURL: srv.URL, Page: page,
		Values: Values{Username: "alice", Password: secret.New("Bench-Pass-1234")},
		OnStep: func(rep StepReport) { steps[rep.Step.Kind] += rep.Duration; counts[rep.Step.Kind]++ }}
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if err := r.RunFlow(ctx, templates.FlowLogin); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	// What the steps' reports do not count: the challenge detectors run
	// after each step.
	n, rest := 0, total
	for k, d := range steps {
		b.ReportMetric(float64(d.Microseconds())/1000/float64(counts[k]), string(k)+"-ms/step")
		n += counts[k]
		rest -= d
	}
	b.ReportMetric(float64(rest.Microseconds())/1000/float64(n), "between-ms/step")
}
