// Package demosite is a small social site for rotator's tests and demo. It
// has what real sites put in a rotator's way: one-step and two-step sign-in,
// a TOTP second factor that refuses a reused code, a "Trust this browser?"
// interstitial, a CAPTCHA that only a person can pass, a change-password page
// with its own rules and a daily limit, and two layouts (v1, v2) that can be
// switched while it runs to reproduce a redesign.
//
// It can also pass for Facebook, Twitter or LinkedIn (layouts "facebook",
// "twitter", "linkedin"): skins with those sites' paths, field names, ids,
// button texts and behaviours, as senhasegura's templates for them drive
// them, so that the templates rotator ships for those sites can be tested
// where the live sites cannot be reached (see skin).
//
// Users live in memory. A loopback-only JSON admin API under /admin creates
// users, reports their current password and sign-in count, and switches the
// layout and the CAPTCHA (see the README).
package demosite

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Options configure a site.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CaptchaAfter puts up the CAPTCHA for a user's sign-ins from a browser
	// it does not trust once that user has signed in this many times from
	// untrusted browsers (0: never, unless the user's Captcha flag is set).
	CaptchaAfter int
	// ChangesPerDay limits password changes per user in 24 hours (default 3).
	ChangesPerDay int
	// LyingBanner makes a site that accepts a change but says so in the
	// markup of a refusal (an alert that matches demo-social's rejection
	// selectors) and keeps the form: a page that seems to refuse a
	// password it took.
	LyingBanner bool
}

// UserSpec creates a user.
type UserSpec struct {
	Name       string `json:"name"`
	Password   string `json:"password"`
	TOTPSecret string `json:"totp_secret,omitempty"`
	// TOTPPeriod is the TOTP time step in seconds (0: 30, the common
	// one). Tests use a short one so that a second sign-in, which needs a
	// new step, does not wait half a minute.
	TOTPPeriod  int  `json:"totp_period,omitempty"`
	TwoStep     bool `json:"two_step,omitempty"`
	Captcha     bool `json:"captcha,omitempty"`
	TrustPrompt bool `json:"trust_prompt,omitempty"`
}

type user struct {
	UserSpec
	history          []string // previous passwords, newest last
	lastTOTPStep     uint64
	signIns          int
	untrustedSignIns int
	changes          []time.Time
	locked           bool
	trustToken       string
	// breakAfterChange makes every sign-in fail once the password was
	// changed: a site that accepted a change and then refuses it.
	breakAfterChange bool
}

type stage string

const (
	stagePassword stage = "password" // two-step: the password page
	stageCaptcha  stage = "captcha"
	stageTOTP     stage = "totp"
	stageTrust    stage = "trust"
	stageIn       stage = "in"
)

type session struct {
	user          string
	stage         stage
	captchaWord   string
	captchaPassed bool
	totpPassed    bool
	trustAnswered bool
}

// Site is the demo site. Its methods are safe for concurrent use.
type Site struct {
	opts     Options
	mu       sync.Mutex
	users    map[string]*user
	sessions map[string]*session
	layout   string
}

// New returns an empty site with layout v1.
func New(opts Options) *Site {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ChangesPerDay == 0 {
		opts.ChangesPerDay = 3
	}
	return &Site{opts: opts, users: map[string]*user{}, sessions: map[string]*session{}, layout: "v1"}
}

// AddUser creates a user.
func (s *Site) AddUser(u UserSpec) error {
	if u.Name == "" || u.Password == "" {
		return errors.New("a user needs a name and a password")
	}
	if u.TOTPSecret != "" {
		u.TOTPSecret = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(u.TOTPSecret))
		if _, err := totp.GenerateCode(u.TOTPSecret, time.Now()); err != nil {
			return fmt.Errorf("user %s: TOTP secret is not base32", u.Name)
		}
	}
	if u.TOTPPeriod < 0 || u.TOTPPeriod > 300 {
		return fmt.Errorf("user %s: TOTP period %d s is not between 1 and 300", u.Name, u.TOTPPeriod)
	}
	if u.TOTPPeriod == 0 {
		u.TOTPPeriod = 30
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.Name]; ok {
		return fmt.Errorf("user %s exists", u.Name)
	}
	s.users[u.Name] = &user{UserSpec: u}
	return nil
}

// BreakLoginAfterChange makes a user's sign-ins fail once its password has
// changed (the site accepted a change it then refuses).
func (s *Site) BreakLoginAfterChange(name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fmt.Errorf("no user %s", name)
	}
	u.breakAfterChange = on
	return nil
}

// passwordOK checks a sign-in password.
func (u *user) passwordOK(pw string) bool {
	if u.breakAfterChange && len(u.changes) > 0 {
		return false
	}
	return pw == u.Password
}

// ParseUserFlag reads NAME:PASSWORD[:TOTPSECRET[:PERIOD]], PERIOD in
// seconds (default 30).
func ParseUserFlag(v string) (UserSpec, error) {
	const want = "want NAME:PASSWORD[:TOTPSECRET[:PERIOD]]"
	parts := strings.SplitN(v, ":", 4)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return UserSpec{}, errors.New(want)
	}
	u := UserSpec{Name: parts[0], Password: parts[1]}
	if len(parts) >= 3 {
		u.TOTPSecret = parts[2]
	}
	if len(parts) == 4 {
		n, err := strconv.Atoi(parts[3])
		if err != nil {
			return UserSpec{}, fmt.Errorf("TOTP period %q is not a whole number of seconds; %s", parts[3], want)
		}
		u.TOTPPeriod = n // AddUser checks its range
	}
	return u, nil
}

// Skins are the names of the layouts that mimic a real site.
func Skins() []string { return skinNames() }

// SetLayout switches the layout: "v1", "v2", or one of the skins that
// mimic a real site (Skins).
func (s *Site) SetLayout(l string) error {
	if l != "v1" && l != "v2" && skinNamed(l) == nil {
		return fmt.Errorf("layout %q: want v1, v2, %s", l, strings.Join(skinNames(), ", "))
	}
	s.mu.Lock()
	s.layout = l
	s.mu.Unlock()
	return nil
}

// Layout returns the current layout.
func (s *Site) Layout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layout
}

// UserState is what the admin API reports of a user.
type UserState struct {
	Name         string `json:"name"`
	Password     string `json:"password"`
	SignIns      int    `json:"sign_ins"`
	TwoStep      bool   `json:"two_step"`
	TOTP         bool   `json:"totp"`
	Captcha      bool   `json:"captcha"`
	TrustPrompt  bool   `json:"trust_prompt"`
	Locked       bool   `json:"locked"`
	ChangesToday int    `json:"changes_today"`
	// BreakAfterChange is set when sign-ins fail after a change.
	BreakAfterChange bool `json:"break_login_after_change"`
}

// User reports a user's state, including the current password.
func (s *Site) User(name string) (UserState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return UserState{}, false
	}
	return s.stateLocked(u), true
}

// CaptchaWords returns the words the CAPTCHA pictures of the user's
// sign-ins in progress show: what a person reads off the picture (for
// tests that play the operator).
func (s *Site) CaptchaWords(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sess := range s.sessions {
		if sess.user == name && sess.stage == stageCaptcha && sess.captchaWord != "" {
			out = append(out, sess.captchaWord)
		}
	}
	return out
}

func (s *Site) stateLocked(u *user) UserState {
	return UserState{Name: u.Name, Password: u.Password, SignIns: u.signIns, TwoStep: u.TwoStep,
		TOTP: u.TOTPSecret != "", Captcha: u.Captcha, TrustPrompt: u.TrustPrompt, Locked: u.locked,
		ChangesToday: s.changesLocked(u), BreakAfterChange: u.breakAfterChange}
}

func (s *Site) changesLocked(u *user) int {
	n := 0
	cutoff := s.opts.Now().Add(-24 * time.Hour)
	for _, t := range u.changes {
		if t.After(cutoff) {
			n++
		}
	}
	return n
}

func token() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const sessionCookie = "demo_sid"

func trustCookie(name string) string { return "demo_trust_" + hex.EncodeToString([]byte(name)) }

// session returns the request's session, creating one when create is set.
func (s *Site) sessionLocked(w http.ResponseWriter, r *http.Request, create bool) *session {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess, ok := s.sessions[c.Value]; ok {
			return sess
		}
	}
	if !create {
		return nil
	}
	id := token()
	sess := &session{}
	s.sessions[id] = sess
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess
}

func (s *Site) trustedLocked(r *http.Request, u *user) bool {
	c, err := r.Cookie(trustCookie(u.Name))
	return err == nil && u.trustToken != "" && c.Value == u.trustToken
}

// nextLocked moves a session whose password was accepted to its next stage
// and returns where to send the browser: that stage's page in the current
// layout.
func (s *Site) nextLocked(r *http.Request, sess *session, u *user) string {
	return s.mapLocked().of(s.advanceLocked(r, sess, u))
}

// advanceLocked moves a session whose password was accepted to its next
// stage and returns it; reaching stageIn counts the sign-in.
func (s *Site) advanceLocked(r *http.Request, sess *session, u *user) stage {
	trusted := s.trustedLocked(r, u)
	needCaptcha := u.Captcha || (s.opts.CaptchaAfter > 0 && !trusted && u.untrustedSignIns >= s.opts.CaptchaAfter)
	switch {
	case needCaptcha && !sess.captchaPassed:
		sess.stage = stageCaptcha
	case u.TOTPSecret != "" && !sess.totpPassed:
		sess.stage = stageTOTP
	case u.TrustPrompt && !trusted && !sess.trustAnswered:
		sess.stage = stageTrust
	default:
		sess.stage = stageIn
		u.signIns++
		if !trusted {
			u.untrustedSignIns++
		}
	}
	return sess.stage
}

// sitemap says where a layout serves its sign-in: the sign-in page, and
// the page of each later stage (stageIn: the home page).
type sitemap struct {
	login string
	at    map[stage]string
}

func (m sitemap) of(st stage) string { return m.at[st] }

// classicMap is where v1 and v2 serve their sign-in.
func classicMap() sitemap {
	return sitemap{login: "/login", at: map[stage]string{stagePassword: "/login/password", stageCaptcha: "/captcha",
		stageTOTP: "/login/totp", stageTrust: "/trust", stageIn: "/home"}}
}

// mapLocked is the current layout's sitemap; the caller holds s.mu.
func (s *Site) mapLocked() sitemap {
	if sk := skinNamed(s.layout); sk != nil {
		return sk.sitemap()
	}
	return classicMap()
}

// checkRules applies the site's password rules: 12+ characters with lower,
// upper and digit.
func checkRules(pw string) error {
	var lower, upper, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	if len([]rune(pw)) < 12 || !lower || !upper || !digit {
		return errors.New("Password too weak: use at least 12 characters with lower case, upper case and digits.")
	}
	return nil
}

func validTOTP(secret string, period int, code string, now time.Time) (uint64, bool) {
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew*int64(period)) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: uint(period), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && want == code {
			return uint64(t.Unix() / int64(period)), true
		}
	}
	return 0, false
}
