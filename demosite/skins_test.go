package demosite

import (
	"cmp"
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
	// extra are more sign-in fields the site requires; changePost is
	// where the change form posts, when not to change.
	extra      url.Values
	changePost string
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
	{skin: "aws", login: "/signin?redirect_uri=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome", loginPost: "/signin",
		user: "email", pass: "password", totp: "/login/totp", code: "code", home: "/console/home",
		change: "/ap/cnep", current: "password", new: "passwordNew", confirm: "passwordNewCheck",
		changed: "/ap/cnep", changedShows: `id="message_success"`, refused: `role="alert" data-reason="rules"`,
		logout: "/console/logout!doLogout", loggedOut: "/signin?redirect_uri=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome"},
	{skin: "flowone", login: "/sas5", loginPost: "/sas5/Login", user: "username", pass: "password",
		totp: "/login/totp", code: "code", home: "/sas5/Frames.jsp",
		change: "/sas5/ui_user_servlet/showPassword", current: "txtOldPassword", new: "txtPassword", confirm: "txtConfirmPassword",
		changed: "/sas5/ui_user_servlet/showPassword", changedShows: `class="info"`, refused: `role="alert" data-reason="rules"`,
		logout: "/sas5/Logout", loggedOut: "/sas5"},
	{skin: "op5", login: "/monitor/index.php/auth/login", loginPost: "/monitor/index.php/auth/login", user: "username", pass: "password",
		totp: "/login/totp", code: "code", home: "/monitor/index.php/tac/index/3",
		change: "/monitor/index.php/change_password", current: "current_password", new: "new_password", confirm: "confirm_password",
		changed: "/monitor/index.php/change_password", changedShows: "Password changed successfully", refused: `role="alert" data-reason="rules"`,
		logout: "/monitor/index.php/auth/logout", loggedOut: "/monitor/index.php/auth/login"},
	{skin: "reporting", login: "/reporting/", loginPost: "/reporting/login.ams", user: "username", pass: "password",
		totp: "/login/totp", code: "code", home: "/reporting/home.ams",
		change: "/reporting/mySettings.ams?source=mySettings", changePost: "/reporting/updateMySettings.ams",
		current: "currentPass", new: "userPass", confirm: "confirmPass",
		changed: "/reporting/updateMySettings.ams", changedShows: `class="alert alert-success"`, refused: `role="alert" data-reason="rules"`,
		logout: "/reporting/logout.ams", loggedOut: "/reporting/"},
	{skin: "sws", login: "/SWS/index.php", loginPost: "/SWS/index.php", user: "username", pass: "password",
		totp: "/login/totp", code: "code", home: "/SWS/main.php",
		change: "/SWS/settings.php", current: "password", new: "password_new", confirm: "password_confirm",
		changed: "/SWS/settings.php", changedShows: "User password updated successfully", refused: `role="alert" data-reason="rules"`,
		logout: "/SWS/logout.php", loggedOut: "/SWS/index.php"},
	{skin: "tslee", login: "/WEBP", loginPost: "/login.init.logic", user: "duser.use_login_name", pass: "duser.use_password",
		totp: "/login/totp", code: "code", home: "/login.init.logic",
		change: "/chgpass.init.logic", current: "duser.use_password", new: "use_password_new", confirm: "use_password_confirmation",
		changed: "/chgpass.init.logic", changedShows: `<div class="title">Sucesso</div>`, refused: `role="alert" data-reason="rules"`,
		logout: "/logout.logic", loggedOut: "/WEBP", extra: url.Values{"duser.use_org_organization_id": {"MCOM"}}},
}

// signInForm is the sign-in form of tc's skin.
func (tc skinCase) signInForm(name, pw string) url.Values {
	f := url.Values{tc.user: {name}, tc.pass: {pw}}
	for k, v := range tc.extra {
		f[k] = v
	}
	return f
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
			form := tc.signInForm
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
			send(t, c, srv.URL+tc.loginPost, tc.signInForm("pat", "Pat-pass-12345"))
			if path, _ := get(t, c, srv.URL+"/.well-known/change-password"); path != tc.change {
				t.Errorf("/.well-known/change-password led to %s, want %s", path, tc.change)
			}
			change := func(nw string) (string, string) {
				return send(t, c, srv.URL+cmp.Or(tc.changePost, tc.change), url.Values{tc.current: {"Pat-pass-12345"}, tc.new: {nw}, tc.confirm: {nw}})
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
	for _, l := range []string{"v1", "v2", "facebook", "twitter", "linkedin", "aws", "flowone", "op5", "reporting", "sws", "tslee"} {
		if err := s.SetLayout(l); err != nil {
			t.Errorf("layout %s: %v", l, err)
		}
	}
	if err := s.SetLayout("myspace"); err == nil || !strings.Contains(err.Error(), "v1, v2, facebook, twitter, linkedin, aws, flowone, op5, reporting, sws, tslee") {
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

// tslee refuses a sign-in without an organisation from its drop-down, and
// aws's account address leads to its change page.
func TestAppSkinsRequireAndRedirect(t *testing.T) {
	s := New(Options{})
	s.SetLayout("tslee")
	s.AddUser(UserSpec{Name: "pat", Password: "Pat-pass-12345"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := client()
	for _, org := range []string{"", "XYZ"} {
		form := url.Values{"duser.use_login_name": {"pat"}, "duser.use_password": {"Pat-pass-12345"}, "duser.use_org_organization_id": {org}}
		if path, body := send(t, c, srv.URL+"/login.init.logic", form); !strings.Contains(body, `data-reason="required"`) || strings.Contains(body, "link_chgpass") {
			t.Errorf("organisation %q: %s\n%s", org, path, body)
		}
	}
	if _, body := get(t, c, srv.URL+"/WEBP"); !strings.Contains(body, `data-value="MCOM"`) {
		t.Errorf("the drop-down does not offer MCOM:\n%s", body)
	}
	s.SetLayout("aws")
	send(t, c, srv.URL+"/signin", url.Values{"email": {"pat"}, "password": {"Pat-pass-12345"}})
	if path, body := get(t, c, srv.URL+"/updateaccount?redirect_uri=x"); path != "/ap/cnep" || !strings.Contains(body, "cnep_1A_change_password_button-input") {
		t.Errorf("/updateaccount led to %s:\n%s", path, body)
	}
}
