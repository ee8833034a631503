package demosite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// get and send return where the request ended (path and query, after
// redirects) and the page.
func get(t *testing.T, c *http.Client, u string) (string, string) {
	t.Helper()
	resp, err := c.Get(u)
	return ended(t, resp, err)
}

func send(t *testing.T, c *http.Client, u string, form url.Values) (string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	return ended(t, resp, err)
}

func ended(t *testing.T, resp *http.Response, err error) (string, string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Request.URL.RequestURI(), string(b)
}

// showsError says whether a skin's page shows an error, as its site marks
// one.
func showsError(body string) bool {
	return strings.Contains(body, `role="alert"`) || strings.Contains(body, `class="errors"`)
}

// skinCase is what a skin must look like from outside: the paths, field
// names and markers that senhasegura's source for the site drives, written
// out here rather than read from the skin, so that a skin that drifts from
// its source fails.
type skinCase struct {
	skin                          string
	login, loginPost, user, pass  string
	totp, code, home              string
	change, current, new, confirm string
	// changed is where a change that took ends, and what it shows there.
	changed, changedShows string
	// refused is what a refused new password shows.
	refused           string
	logout, loggedOut string
}

var skinCases = []skinCase{
	{skin: "facebook", login: "/", loginPost: "/login.php", user: "email", pass: "pass",
		totp: "/checkpoint/?next", code: "approvals_code", home: "/home.php",
		change: "/settings/account/?password", current: "old_password", new: "new_password", confirm: "confirm_password",
		// The form stays, with a confirmation above it.
		changed: "/settings/account/?password", changedShows: `id="password_changed"`,
		refused: `id="password_error" role="alert" data-reason="rules"`, logout: "/logout.php", loggedOut: "/"},
	{skin: "twitter", login: "/login", loginPost: "/sessions", user: "session[username_or_email]", pass: "session[password]",
		totp: "/account/login_verification", code: "challenge_response", home: "/home",
		change: "/settings/password", current: "settings[current_password]", new: "settings[password]", confirm: "settings[password_confirmation]",
		changed: "/settings", changedShows: `href="/settings/password"`,
		refused: `class="errors" data-reason="rules"`, logout: "/logout", loggedOut: "/login"},
	{skin: "linkedin", login: "/uas/login", loginPost: "/uas/login-submit", user: "session_key", pass: "session_password",
		totp: "/checkpoint/challenge/verify", code: "pin", home: "/nhome/?trk=",
		change: "/psettings/change-password", current: "oldPassword", new: "newPassword", confirm: "newPasswordConfirm",
		changed: "/psettings/change-password", changedShows: `class="success"`,
		refused: `class="error" data-reason="rules"`, logout: "/m/logout/", loggedOut: "/uas/login"},
}

// TestSkinSignIn: each skin signs in on its own paths and fields, says a
// wrong password on its sign-in page, and asks for the TOTP code on its
// own page, refusing a wrong one.
func TestSkinSignIn(t *testing.T) {
	now := time.Unix(1_700_000_010, 0)
	for _, tc := range skinCases {
		t.Run(tc.skin, func(t *testing.T) {
			s := New(Options{Now: func() time.Time { return now }})
			if err := s.SetLayout(tc.skin); err != nil {
				t.Fatal(err)
			}
			s.AddUser(UserSpec{Name: "pat", Password: "Pat-pass-12345"})
			s.AddUser(UserSpec{Name: "tom", Password: "Tom-pass-12345", TOTPSecret: "JBSWY3DPEHPK3PXP"})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			c := client()
			if path, body := get(t, c, srv.URL+tc.login); path != tc.login || !strings.Contains(body, `name="`+tc.user+`"`) {
				t.Fatalf("sign-in page %s:\n%s", path, body)
			}
			form := func(name, pw string) url.Values { return url.Values{tc.user: {name}, tc.pass: {pw}} }
			if path, body := send(t, c, srv.URL+tc.loginPost, form("pat", "wrong")); path != tc.loginPost || !showsError(body) {
				t.Errorf("wrong password: %s\n%s", path, body)
			}
			if path, _ := send(t, c, srv.URL+tc.loginPost, form("pat", "Pat-pass-12345")); path != tc.home {
				t.Errorf("sign-in ended at %s, want %s", path, tc.home)
			}
			c = client()
			path, body := send(t, c, srv.URL+tc.loginPost, form("tom", "Tom-pass-12345"))
			if p, _, _ := strings.Cut(tc.totp, "?"); path != p || !strings.Contains(body, `name="`+tc.code+`"`) {
				t.Fatalf("TOTP page %s:\n%s", path, body)
			}
			if _, body := send(t, c, srv.URL+tc.totp, url.Values{tc.code: {"000000"}}); !showsError(body) {
				t.Errorf("a wrong code was not refused:\n%s", body)
			}
			code, _ := totp.GenerateCode("JBSWY3DPEHPK3PXP", now)
			if path, _ := send(t, c, srv.URL+tc.totp, url.Values{tc.code: {code}}); path != tc.home {
				t.Errorf("after the code: %s, want %s", path, tc.home)
			}
		})
	}
}

// TestSkinChangeAndLogout: each skin changes a password on its own page,
// with its fields, refuses a weak one with its own markup, ends a change
// where its site does, and signs out with a GET of its logout URL.
func TestSkinChangeAndLogout(t *testing.T) {
	for _, tc := range skinCases {
		t.Run(tc.skin, func(t *testing.T) {
			s := New(Options{})
			if err := s.SetLayout(tc.skin); err != nil {
				t.Fatal(err)
			}
			s.AddUser(UserSpec{Name: "pat", Password: "Pat-pass-12345"})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			c := client()
			send(t, c, srv.URL+tc.loginPost, url.Values{tc.user: {"pat"}, tc.pass: {"Pat-pass-12345"}})
			if path, _ := get(t, c, srv.URL+"/.well-known/change-password"); path != tc.change {
				t.Errorf("/.well-known/change-password led to %s, want %s", path, tc.change)
			}
			change := func(nw string) (string, string) {
				return send(t, c, srv.URL+tc.change, url.Values{tc.current: {"Pat-pass-12345"}, tc.new: {nw}, tc.confirm: {nw}})
			}
			if _, body := change("short"); !strings.Contains(body, tc.refused) {
				t.Errorf("a weak password was not refused with %s:\n%s", tc.refused, body)
			}
			path, body := change("New-Pat-pass-2026")
			if path != tc.changed || !strings.Contains(body, tc.changedShows) {
				t.Errorf("change ended at %s, want %s showing %s:\n%s", path, tc.changed, tc.changedShows, body)
			}
			if st, _ := s.User("pat"); st.Password != "New-Pat-pass-2026" {
				t.Errorf("password not changed")
			}
			if path, body := get(t, c, srv.URL+tc.logout); path != tc.loggedOut || !strings.Contains(body, `name="`+tc.user+`"`) {
				t.Errorf("logout ended at %s, want the sign-in form at %s", path, tc.loggedOut)
			}
			if path, _ := get(t, c, srv.URL+tc.change); path == tc.change {
				t.Error("the change page still opens after logout")
			}
		})
	}
}

// Facebook keeps its change form on the page after a change, and asks
// for the CAPTCHA on the same checkpoint page as the second factor.
func TestFacebookSkinKeepsFormAndChecksAtCheckpoint(t *testing.T) {
	s := New(Options{})
	s.SetLayout("facebook")
	s.AddUser(UserSpec{Name: "cap", Password: "Cap-pass-123456", Captcha: true})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := client()
	path, body := send(t, c, srv.URL+"/login.php", url.Values{"email": {"cap"}, "pass": {"Cap-pass-123456"}})
	if path != "/checkpoint/" || !strings.Contains(body, `id="captcha"`) || !strings.Contains(body, `name="captcha_response"`) {
		t.Fatalf("CAPTCHA at %s:\n%s", path, body)
	}
	words := s.CaptchaWords("cap")
	if len(words) != 1 {
		t.Fatalf("CAPTCHA words %v", words)
	}
	if path, _ := send(t, c, srv.URL+"/checkpoint/", url.Values{"captcha_response": {words[0]}}); path != "/home.php" {
		t.Fatalf("after the CAPTCHA: %s", path)
	}
	_, body = send(t, c, srv.URL+"/settings/account/?password",
		url.Values{"old_password": {"Cap-pass-123456"}, "new_password": {"New-Cap-pass-2026"}, "confirm_password": {"New-Cap-pass-2026"}})
	if !strings.Contains(body, `id="password_changed"`) || !strings.Contains(body, `name="new_password"`) {
		t.Errorf("after a change the page should keep the form and confirm:\n%s", body)
	}
}

// The layouts are v1, v2 and the skins; a skin renders every page it
// serves (a missing template would send an empty page).
func TestSkinLayouts(t *testing.T) {
	s := New(Options{})
	for _, l := range []string{"v1", "v2", "facebook", "twitter", "linkedin"} {
		if err := s.SetLayout(l); err != nil {
			t.Errorf("layout %s: %v", l, err)
		}
	}
	if err := s.SetLayout("myspace"); err == nil || !strings.Contains(err.Error(), "v1, v2, facebook, twitter, linkedin") {
		t.Errorf("unknown layout: %v", err)
	}
	for _, sk := range skins() {
		pages := []string{"login", "home", "change"}
		for st := range sk.pages {
			if st != stageIn {
				pages = append(pages, string(st))
			}
		}
		if sk.changed != "" {
			pages = append(pages, "changed")
		}
		for _, p := range pages {
			w := httptest.NewRecorder()
			s.renderSkin(w, http.StatusOK, sk, p, pageData{User: "pat", Error: "x", OK: true})
			if !strings.Contains(w.Body.String(), "</html>") {
				t.Errorf("%s-%s renders %q", sk.name, p, w.Body.String())
			}
		}
	}
}
