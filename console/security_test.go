package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// Refused sign-ins are throttled per client address (429 and Retry-After;
// a throttled attempt is not checked against the token, right or wrong),
// with a global backstop, and the audit log gets the first refusal and one
// summary row, not a row per attempt. The addresses remembered are
// bounded.
func TestSigninThrottled(t *testing.T) {
	e := newEnv(t, false)
	var mu sync.Mutex
	now := time.Now()
	e.con.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	post := func(token string) *http.Response {
		t.Helper()
		return e.request("POST", "/login", "token="+token+"&name=mallory", nil)
	}
	var statuses []int
	var retry string
	for range 20 {
		r := post("rtc_wrong")
		statuses = append(statuses, r.StatusCode)
		if r.StatusCode == http.StatusTooManyRequests && retry == "" {
			retry = r.Header.Get("Retry-After")
		}
	}
	if statuses[0] != http.StatusUnauthorized || statuses[19] != http.StatusTooManyRequests {
		t.Fatalf("20 wrong tokens in a row: %v", statuses)
	}
	if secs, err := strconv.Atoi(retry); err != nil || secs < 1 {
		t.Errorf("Retry-After %q", retry)
	}
	// Throttled: the right token is not even looked at.
	if r := post(e.token); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right token while throttled: %s", r.Status)
	}
	signins := func() (rows []store.AuditEvent) {
		log, _ := e.store.AuditLog(context.Background(), "")
		for _, ev := range log {
			if ev.Action == "console.signin" {
				rows = append(rows, ev)
			}
		}
		return rows
	}
	if rows := signins(); len(rows) != 1 || rows[0].Outcome != "refused" {
		t.Fatalf("21 refused or throttled sign-ins made %d audit rows, want 1: %+v", len(rows), rows)
	}
	// Once the wait is over, the right token signs in, and the count of
	// the others is audited in one row.
	secs, _ := strconv.Atoi(retry)
	advance(time.Duration(secs) * time.Second)
	if r := post(e.token); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right token after Retry-After: %s", r.Status)
	}
	rows := signins()
	if len(rows) != 3 || !strings.Contains(rows[1].Detail, "20 more sign-ins") || rows[2].Outcome != "succeeded" {
		t.Fatalf("audit rows after the sign-in: %+v", rows)
	}

	// The global backstop, and the bound on what is remembered: many
	// addresses, each with a few refusals.
	var th throttle
	at := time.Now()
	throttled := 0
	for i := range 5000 {
		addr := clientKey(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if wait, _, _ := th.allow(addr, at); wait > 0 {
			throttled++
			continue
		}
		th.refused(addr, at)
	}
	if throttled < 5000-globalBurst {
		t.Errorf("5000 addresses at once: %d throttled, want the global backstop to hold all but %d", throttled, globalBurst)
	}
	if n := len(th.addrs); n > maxAddrs {
		t.Errorf("%d addresses remembered, the cap is %d", n, maxAddrs)
	}
	if a, b := clientKey("2001:db8::1"), clientKey("2001:db8::ffff:2"); a != b {
		t.Errorf("one IPv6 /64, two keys: %s %s", a, b)
	}
}

// A Bearer token on the API is throttled like the sign-in form: after a few
// wrong ones the address gets 429 and even the right token is not looked
// at; the refusals make one audit row, not one each.
func TestBearerThrottled(t *testing.T) {
	e := newEnv(t, false)
	var mu sync.Mutex
	now := time.Now()
	e.con.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	get := func(token string) int {
		t.Helper()
		r := e.request("GET", "/api/accounts", "", map[string]string{"Authorization": "Bearer " + token})
		r.Body.Close()
		return r.StatusCode
	}
	if code := get(e.token); code != http.StatusOK {
		t.Fatalf("the right token: %d", code)
	}
	var codes []int
	for range 20 {
		codes = append(codes, get("rtc_wrong"))
	}
	if codes[0] != http.StatusUnauthorized || codes[19] != http.StatusTooManyRequests {
		t.Fatalf("20 wrong tokens in a row: %v", codes)
	}
	if code := get(e.token); code != http.StatusTooManyRequests {
		t.Fatalf("the right token while throttled: %d", code)
	}
	rows := 0
	log, _ := e.store.AuditLog(context.Background(), "")
	for _, ev := range log {
		if ev.Action == "console.api" {
			rows++
		}
	}
	if rows != 1 {
		t.Errorf("21 refused or throttled tokens made %d audit rows, want 1", rows)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if code := get(e.token); code != http.StatusOK {
		t.Errorf("the right token after the wait: %d", code)
	}
}
