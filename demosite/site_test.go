package demosite

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Request.URL.Path, string(b)
}

func TestSignInTOTPAndReplay(t *testing.T) {
	now := time.Unix(1_700_000_010, 0)
	s := New(Options{Now: func() time.Time { return now }})
	if err := s.AddUser(UserSpec{Name: "bob", Password: "Bob-pass-12345", TOTPSecret: "jbsw y3dp ehpk 3pxp"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	code, _ := totp.GenerateCode("JBSWY3DPEHPK3PXP", now)

	c := client()
	if path, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"bob"}, "password": {"Bob-pass-12345"}}); path != "/login/totp" {
		t.Fatalf("after password: %s", path)
	}
	if path, body := post(t, c, srv.URL+"/login/totp", url.Values{"code": {"000000"}}); path != "/login/totp" || !strings.Contains(body, "not valid") {
		t.Fatalf("wrong code accepted: %s", path)
	}
	if path, _ := post(t, c, srv.URL+"/login/totp", url.Values{"code": {code}}); path != "/home" {
		t.Fatalf("right code refused: %s", path)
	}
	// The same code in the same window is refused the second time.
	c2 := client()
	post(t, c2, srv.URL+"/login", url.Values{"username": {"bob"}, "password": {"Bob-pass-12345"}})
	if path, body := post(t, c2, srv.URL+"/login/totp", url.Values{"code": {code}}); path != "/login/totp" || !strings.Contains(body, "already used") {
		t.Fatalf("replayed code accepted: %s", path)
	}
	if st, _ := s.User("bob"); st.SignIns != 1 {
		t.Errorf("sign-ins %d", st.SignIns)
	}
}

func TestChangePasswordRules(t *testing.T) {
	s := New(Options{ChangesPerDay: 6})
	if err := s.AddUser(UserSpec{Name: "alice", Password: "Alice-pass-0000"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := client()
	post(t, c, srv.URL+"/login", url.Values{"username": {"alice"}, "password": {"Alice-pass-0000"}})
	change := func(cur, nw string) string {
		_, body := post(t, c, srv.URL+"/settings/password", url.Values{"current": {cur}, "new": {nw}, "confirm": {nw}})
		if strings.Contains(body, `id="pw-ok"`) {
			return "ok"
		}
		i := strings.Index(body, `data-reason="`)
		return body[i+13 : i+13+strings.Index(body[i+13:], `"`)]
	}
	if r := change("wrong", "Valid-pass-1111"); r != "current" {
		t.Errorf("wrong current: %s", r)
	}
	if r := change("Alice-pass-0000", "short1A"); r != "rules" {
		t.Errorf("weak: %s", r)
	}
	cur := "Alice-pass-0000"
	for i := 1; i <= 5; i++ {
		nw := "Alice-pass-000" + string(rune('0'+i))
		if r := change(cur, nw); r != "ok" {
			t.Fatalf("change %d: %s", i, r)
		}
		cur = nw
	}
	// The last 5 passwords may not come back; the 6th oldest may.
	if r := change(cur, "Alice-pass-0002"); r != "reused" {
		t.Errorf("reuse: %s", r)
	}
	if r := change(cur, "Alice-pass-0000"); r != "ok" {
		t.Errorf("sixth oldest: %s", r)
	}
	if r := change("Alice-pass-0000", "Alice-pass-9999"); r != "limit" {
		t.Errorf("daily limit: %s", r)
	}
}

func TestAdminAPIIsLoopbackOnly(t *testing.T) {
	s := New(Options{})
	h := s.Handler()
	req := httptest.NewRequest("GET", "/admin/users", nil)
	req.RemoteAddr = "192.0.2.7:5555" // a documentation address; no traffic is sent
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("remote admin request: %d", w.Code)
	}
	req = httptest.NewRequest("PUT", "/admin/layout", strings.NewReader(`{"layout":"v2"}`))
	req.RemoteAddr = "127.0.0.1:5555"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || s.Layout() != "v2" {
		t.Errorf("layout switch: %d %s", w.Code, s.Layout())
	}
	req = httptest.NewRequest("POST", "/admin/users", strings.NewReader(`{"name":"x","password":"y","bogus":1}`))
	req.RemoteAddr = "[::1]:5555"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Errorf("unknown field accepted: %d", w.Code)
	}
}

// A user with a short TOTP period takes the code of that period's step,
// not the 30-second one, and each step once.
func TestTOTPPeriod(t *testing.T) {
	now := time.Unix(1_700_000_012, 0) // a 30 s step and a 4 s step that give different codes
	s := New(Options{Now: func() time.Time { return now }})
	if err := s.AddUser(UserSpec{Name: "bob", Password: "Bob-pass-12345", TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPPeriod: 4}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int{-4, 301} {
		if err := s.AddUser(UserSpec{Name: "eve", Password: "Eve-pass-123456", TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPPeriod: bad}); err == nil {
			t.Errorf("a %d s period was taken", bad)
		}
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	opts := func(period uint) totp.ValidateOpts {
		return totp.ValidateOpts{Period: period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	}
	code30, err := totp.GenerateCodeCustom("JBSWY3DPEHPK3PXP", now, opts(30))
	if err != nil {
		t.Fatal(err)
	}
	code4, err := totp.GenerateCodeCustom("JBSWY3DPEHPK3PXP", now, opts(4))
	if err != nil {
		t.Fatal(err)
	}
	if code30 == code4 {
		t.Fatal("pick another time: both periods give the same code")
	}
	signIn := func(code string) (string, string) {
		c := client()
		post(t, c, srv.URL+"/login", url.Values{"username": {"bob"}, "password": {"Bob-pass-12345"}})
		return post(t, c, srv.URL+"/login/totp", url.Values{"code": {code}})
	}
	if path, _ := signIn(code30); path != "/login/totp" {
		t.Errorf("the 30 s code was taken for a 4 s period: %s", path)
	}
	if path, _ := signIn(code4); path != "/home" {
		t.Errorf("the 4 s code was refused: %s", path)
	}
	if path, body := signIn(code4); path != "/login/totp" || !strings.Contains(body, "already used") {
		t.Errorf("the 4 s code was taken twice: %s", path)
	}
	now = now.Add(4 * time.Second)
	next, err := totp.GenerateCodeCustom("JBSWY3DPEHPK3PXP", now, opts(4))
	if err != nil {
		t.Fatal(err)
	}
	if path, _ := signIn(next); path != "/home" {
		t.Errorf("the next 4 s step was refused: %s", path)
	}
}

func TestParseUserFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want UserSpec
		ok   bool
	}{
		{"alice:pw", UserSpec{Name: "alice", Password: "pw"}, true},
		{"bob:pw:JBSWY3DPEHPK3PXP", UserSpec{Name: "bob", Password: "pw", TOTPSecret: "JBSWY3DPEHPK3PXP"}, true},
		{"bob:pw:JBSWY3DPEHPK3PXP:4", UserSpec{Name: "bob", Password: "pw", TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPPeriod: 4}, true},
		{"bob:pw:JBSWY3DPEHPK3PXP:-4", UserSpec{Name: "bob", Password: "pw", TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPPeriod: -4}, true}, // AddUser refuses it
		{"bob:pw:JBSWY3DPEHPK3PXP:4s", UserSpec{}, false},
		{"bob", UserSpec{}, false},
		{":pw", UserSpec{}, false},
	} {
		got, err := ParseUserFlag(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseUserFlag(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
