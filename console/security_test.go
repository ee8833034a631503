package console

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/store"
)

func TestAccessNeedsToken(t *testing.T) {
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})

	for _, path := range []string{"/api/accounts", "/api/accounts/alice", "/api/flags", "/api/runs/1", "/api/live/alice"} {
		if r := e.request("GET", path, "", nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %s", path, r.Status)
		}
	}
	if r := e.request("POST", "/api/accounts/alice/otp", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("OTP without a token: %s", r.Status)
	}
	if r := e.request("GET", "/api/accounts", "", map[string]string{"Authorization": "Bearer rtc_wrong"}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %s", r.Status)
	}
	if r := e.request("GET", "/", "", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("a page without a session: %s to %q", r.Status, r.Header.Get("Location"))
	}
	if r := e.request("GET", "/api/accounts", "", map[string]string{"Authorization": "Bearer " + e.token}); r.StatusCode != http.StatusOK {
		t.Errorf("the right token: %s", r.Status)
	}

	// A wrong token at the sign-in form: refused, and audited.
	if r := e.request("POST", "/login", "token=rtc_nope&name=mallory", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign in with a wrong token: %s", r.Status)
	}
	c := e.signIn()
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Errorf("cookie over plain HTTP: HttpOnly %v SameSite %v Secure %v", c.HttpOnly, c.SameSite, c.Secure)
	}
	if r := e.request("GET", "/", "", map[string]string{"Cookie": c.Name + "=" + c.Value}); r.StatusCode != http.StatusOK {
		t.Errorf("signed in: %s", r.Status)
	}
	log, _ := e.store.AuditLog(context.Background(), "")
	var refused, signedIn bool
	for _, ev := range log {
		refused = refused || (ev.Action == "console.signin" && ev.Outcome == "refused" && strings.HasPrefix(ev.Actor, "operator:mallory@"))
		signedIn = signedIn || (ev.Action == "console.signin" && ev.Outcome == "succeeded" && strings.HasPrefix(ev.Actor, "operator:tester@"))
	}
	if !refused || !signedIn {
		t.Errorf("sign-ins not audited: refused %v, signed in %v", refused, signedIn)
	}

	// A new token ends the sessions made with the old one.
	tok, hash := NewToken()
	if err := e.store.SetConsoleToken(context.Background(), hash, "test"); err != nil {
		t.Fatal(err)
	}
	e.con.tokens.mu.Lock()
	e.con.tokens.read = time.Time{} // no waiting out the cache
	e.con.tokens.mu.Unlock()
	if r := e.request("GET", "/api/accounts", "", map[string]string{"Cookie": c.Name + "=" + c.Value}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session of the old token: %s", r.Status)
	}
	if r := e.request("GET", "/api/accounts", "", map[string]string{"Authorization": "Bearer " + e.token}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old token: %s", r.Status)
	}
	if r := e.request("GET", "/api/accounts", "", map[string]string{"Authorization": "Bearer " + tok}); r.StatusCode != http.StatusOK {
		t.Errorf("the new token: %s", r.Status)
	}
	e.checkNoToken()
	if strings.Contains(e.logs.String(), tok) {
		t.Error("the new token appears in the log")
	}
}

func TestCrossSiteAndHost(t *testing.T) {
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := context.Background()
	if err := e.store.Flag(ctx, "alice", store.StatePaused, "test"); err != nil {
		t.Fatal(err)
	}
	c := e.signIn()
	cookie := c.Name + "=" + c.Value

	// A cross-site POST carrying the operator's cookie is refused, with
	// the browser's Sec-Fetch-Site or, from an older one, its Origin.
	for _, h := range []map[string]string{
		{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"},
		{"Cookie": cookie, "Sec-Fetch-Site": "same-site"},
		{"Cookie": cookie, "Origin": "http://evil.example"},
		{"Authorization": "Bearer " + e.token, "Sec-Fetch-Site": "cross-site"},
	} {
		if r := e.request("POST", "/api/flags/alice/clear", "", h); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %v: %s", h, r.Status)
		}
	}
	if a, _ := e.store.Account(ctx, "alice"); a.State != store.StatePaused {
		t.Fatalf("a refused request changed the account: %s", a.State)
	}
	// The same from the console's own page goes through, and is audited.
	if r := e.request("POST", "/api/flags/alice/clear", "", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}); r.StatusCode != http.StatusOK {
		t.Fatalf("same-origin POST: %s", r.Status)
	}
	if a, _ := e.store.Account(ctx, "alice"); a.State != store.StateActive {
		t.Fatalf("clear did not clear: %s", a.State)
	}
	log, _ := e.store.AuditLog(ctx, "alice")
	if last := log[len(log)-1]; last.Action != "account.clear" || !strings.HasPrefix(last.Actor, "operator:tester@") {
		t.Errorf("clear not audited with the operator: %+v", last)
	}

	// A Host outside the configured names: refused, token or not.
	for _, h := range []map[string]string{
		{"Host": "evil.example"},
		{"Host": "evil.example:8787", "Authorization": "Bearer " + e.token},
		{"Host": "127.0.0.1.evil.example", "Cookie": cookie},
	} {
		if r := e.request("GET", "/api/accounts", "", h); r.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %s", h["Host"], r.Status)
		}
	}
	if r := e.request("GET", "/login", "", map[string]string{"Host": "localhost:1234"}); r.StatusCode != http.StatusOK {
		t.Errorf("Host localhost: %s", r.Status)
	}

	// The live view's WebSocket refuses another site's page.
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/live/alice",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie}, "Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin WebSocket: err %v", err)
	}
	e.checkNoToken()
}

func TestSecureCookieUnderTLS(t *testing.T) {
	e := newEnv(t, true)
	c := e.signIn()
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie under TLS: Secure %v HttpOnly %v SameSite %v", c.Secure, c.HttpOnly, c.SameSite)
	}
}

func TestRunFilesStayInTheRun(t *testing.T) {
	e := newEnv(t, false)
	for _, p := range []string{"/runs/1/files/..%2Fvault.db", "/runs/1/files/x.db", "/runs/abc/files/a.png", "/runs/99/files/a.png"} {
		r := e.request("GET", p, "", map[string]string{"Authorization": "Bearer " + e.token})
		if r.StatusCode == http.StatusOK {
			t.Errorf("%s: %s", p, r.Status)
		}
	}
}

// The sign-in page shows fixed messages for fixed codes, never text from
// the link: a crafted /login?error= cannot put words in the console's
// mouth.
func TestLoginErrorIsACode(t *testing.T) {
	e := newEnv(t, false)
	get := func(q string) string {
		t.Helper()
		resp, err := e.srv.Client().Get(e.srv.URL + "/login" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	lure := "Session+expired.+Call+the+helpdesk+at+555-0100"
	for _, q := range []string{"?error=" + lure, "?error=%3Cb%3Ecall+555-0100%3C%2Fb%3E", "?msg=" + lure} {
		if body := get(q); strings.Contains(body, "555-0100") {
			t.Errorf("%s: the page shows the link's text", q)
		} else if strings.Contains(q, "error=") && !strings.Contains(body, "Sign-in failed") {
			t.Errorf("%s: no generic message", q)
		}
	}
	if body := get("?error=expired"); !strings.Contains(body, "Your session ended") {
		t.Error("a known code does not show its message")
	}
	if body := get(""); strings.Contains(body, `class="error"`) {
		t.Error("an error shown without a code")
	}
}
