package demosite

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Handler serves the site in its current layout (switched live, see
// SetLayout) and, to loopback clients only, the admin API.
func (s *Site) Handler() http.Handler {
	admin := loopbackOnly(s.adminHandler())
	classic := s.classicMux(admin)
	skinned := map[string]http.Handler{}
	for _, sk := range skins() {
		skinned[sk.name] = s.skinMux(sk, admin)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := skinned[s.Layout()]; ok {
			h.ServeHTTP(w, r)
			return
		}
		classic.ServeHTTP(w, r)
	})
}

// stageRoutes adds the pages of the sign-in stages that every layout
// serves the same way (a skin draws some of them itself, elsewhere).
func (s *Site) stageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /captcha", s.captchaPage)
	mux.HandleFunc("GET /captcha/image", s.captchaImage)
	mux.HandleFunc("POST /captcha", s.captcha)
	mux.HandleFunc("GET /trust", s.stagePage(stageTrust, "trust", "Trust this browser?"))
	mux.HandleFunc("POST /trust", s.trust)
}

// classicMux serves layouts v1 and v2.
func (s *Site) classicMux(admin http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /login/password", s.stagePage(stagePassword, "password", "Password"))
	mux.HandleFunc("POST /login/password", s.password)
	mux.HandleFunc("GET /login/totp", s.stagePage(stageTOTP, "totp", "Two-factor authentication"))
	mux.HandleFunc("POST /login/totp", s.totp)
	s.stageRoutes(mux)
	mux.HandleFunc("GET /home", s.home)
	mux.HandleFunc("GET /settings/password", s.changePage)
	mux.HandleFunc("POST /settings/password", s.change)
	mux.HandleFunc("GET /.well-known/change-password", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/settings/password", http.StatusFound)
	})
	mux.HandleFunc("GET /logout", s.logout)
	mux.Handle("/admin/", admin)
	return mux
}

func (s *Site) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/home", http.StatusFound)
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", pageData{Title: "Sign in"})
}

func formValue(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.PostFormValue(n); v != "" {
			return v
		}
	}
	return ""
}

func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(formValue(r, "username", "login"))
	pw := formValue(r, "password", "secret")
	s.mu.Lock()
	u, ok := s.users[name]
	if !ok {
		s.mu.Unlock()
		s.render(w, http.StatusUnauthorized, "login", pageData{Title: "Sign in", Error: "Wrong username or password."})
		return
	}
	if u.locked {
		s.mu.Unlock()
		s.render(w, http.StatusForbidden, "locked", pageData{Title: "Locked"})
		return
	}
	sess := s.sessionLocked(w, r, true)
	*sess = session{user: name}
	if u.TwoStep {
		// Identifier first: the password comes on a page of its own.
		sess.stage = stagePassword
		s.mu.Unlock()
		http.Redirect(w, r, "/login/password", http.StatusSeeOther)
		return
	}
	if !u.passwordOK(pw) {
		*sess = session{}
		s.mu.Unlock()
		s.render(w, http.StatusUnauthorized, "login", pageData{Title: "Sign in", Error: "Wrong username or password."})
		return
	}
	next := s.nextLocked(r, sess, u)
	s.mu.Unlock()
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// stagePage serves the page of a sign-in stage to a session at that stage,
// and sends any other browser back to the sign-in page.
func (s *Site) stagePage(st stage, page, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		_, u, ok := s.current(w, r, st)
		login := s.mapLocked().login
		s.mu.Unlock()
		if !ok {
			http.Redirect(w, r, login, http.StatusSeeOther)
			return
		}
		s.render(w, http.StatusOK, page, pageData{Title: title, User: u.Name})
	}
}

// current returns the session and its user if the session is at stage st.
func (s *Site) current(w http.ResponseWriter, r *http.Request, st stage) (*session, *user, bool) {
	sess := s.sessionLocked(w, r, false)
	if sess == nil || sess.stage != st {
		return nil, nil, false
	}
	u, ok := s.users[sess.user]
	return sess, u, ok
}

func (s *Site) password(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, u, ok := s.current(w, r, stagePassword)
	if !ok {
		s.toSignInLocked(w, r)
		return
	}
	if !u.passwordOK(r.PostFormValue("password")) {
		s.mu.Unlock()
		s.render(w, http.StatusUnauthorized, "password", pageData{Title: "Password", User: u.Name, Error: "Wrong password."})
		return
	}
	next := s.nextLocked(r, sess, u)
	s.mu.Unlock()
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Site) totp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, u, ok := s.current(w, r, stageTOTP)
	if !ok {
		s.toSignInLocked(w, r)
		return
	}
	if _, msg := s.acceptTOTPLocked(u, r.PostFormValue("code")); msg != "" {
		s.mu.Unlock()
		s.render(w, http.StatusUnauthorized, "totp", pageData{Title: "Two-factor authentication", Error: msg})
		return
	}
	sess.totpPassed = true
	next := s.nextLocked(r, sess, u)
	s.mu.Unlock()
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// acceptTOTPLocked checks a code of u's second factor and, when it is
// right, uses up its time step. It returns why it refused the code (a
// reason for the page's data-reason, and a message), or "" twice.
func (s *Site) acceptTOTPLocked(u *user, code string) (reason, msg string) {
	step, valid := validTOTP(u.TOTPSecret, u.TOTPPeriod, strings.TrimSpace(code), s.opts.Now())
	switch {
	case !valid:
		return "code", "That code is not valid."
	case step <= u.lastTOTPStep:
		return "code-used", "That code was already used. Wait for a new one."
	}
	u.lastTOTPStep = step
	return "", ""
}

// toSignInLocked releases s.mu and sends the browser to the current
// layout's sign-in page: the request's session is not where it asked to go.
func (s *Site) toSignInLocked(w http.ResponseWriter, r *http.Request) {
	login := s.mapLocked().login
	s.mu.Unlock()
	http.Redirect(w, r, login, http.StatusSeeOther)
}

var captchaWords = []string{"harbor", "violet", "pepper", "canyon", "ginger", "walnut", "meadow", "copper", "falcon", "orchid", "pebble", "saddle"}

func (s *Site) captchaPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, _, ok := s.current(w, r, stageCaptcha)
	if ok && sess.captchaWord == "" {
		sess.captchaWord = captchaWords[mrand.IntN(len(captchaWords))]
	}
	login := s.mapLocked().login
	s.mu.Unlock()
	if !ok {
		http.Redirect(w, r, login, http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "captcha", pageData{Title: "Security check", Nonce: token()[:8]})
}

// captchaImage draws the session's word, scaled up with noise, as a PNG: the
// word is in no text a script can read.
func (s *Site) captchaImage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, _, ok := s.current(w, r, stageCaptcha)
	word := ""
	if ok {
		word = sess.captchaWord
	}
	s.mu.Unlock()
	if word == "" {
		http.NotFound(w, r)
		return
	}
	small := image.NewGray(image.Rect(0, 0, 60, 20))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(9, 14)}
	d.DrawString(word)
	const scale = 4
	img := image.NewRGBA(image.Rect(0, 0, 60*scale, 20*scale))
	for y := 0; y < 20*scale; y++ {
		for x := 0; x < 60*scale; x++ {
			c := small.GrayAt(x/scale, y/scale)
			if mrand.IntN(9) == 0 {
				c = color.Gray{Y: uint8(mrand.IntN(256))}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Site) captcha(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, u, ok := s.current(w, r, stageCaptcha)
	if !ok {
		s.toSignInLocked(w, r)
		return
	}
	word := strings.ToLower(strings.TrimSpace(r.PostFormValue("word")))
	if r.PostFormValue("human") != "yes" || sess.captchaWord == "" || word != sess.captchaWord {
		sess.captchaWord = captchaWords[mrand.IntN(len(captchaWords))]
		s.mu.Unlock()
		s.render(w, http.StatusUnauthorized, "captcha", pageData{Title: "Security check", Error: "Please tick the box and type the word shown.", Nonce: token()[:8]})
		return
	}
	sess.captchaPassed = true
	next := s.nextLocked(r, sess, u)
	s.mu.Unlock()
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Site) trust(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, u, ok := s.current(w, r, stageTrust)
	if !ok {
		s.toSignInLocked(w, r)
		return
	}
	if r.PostFormValue("choice") == "trust" {
		if u.trustToken == "" {
			u.trustToken = token()
		}
		http.SetCookie(w, &http.Cookie{Name: trustCookie(u.Name), Value: u.trustToken, Path: "/",
			MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	sess.trustAnswered = true
	next := s.nextLocked(r, sess, u)
	s.mu.Unlock()
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Site) signedIn(w http.ResponseWriter, r *http.Request) (*user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, ok := s.current(w, r, stageIn)
	return u, ok
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	u, ok := s.signedIn(w, r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "home", pageData{Title: "Home", User: u.Name})
}

func (s *Site) changePage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.signedIn(w, r); !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "change", pageData{Title: "Change password"})
}

func (s *Site) change(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, u, ok := s.current(w, r, stageIn)
	if !ok {
		s.toSignInLocked(w, r)
		return
	}
	reason, msg := s.changeLocked(u, r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm"), checkRules)
	s.mu.Unlock()
	switch {
	case reason != "":
		s.render(w, http.StatusBadRequest, "change", pageData{Title: "Change password", Error: msg, Reason: reason})
	case s.opts.LyingBanner:
		s.render(w, http.StatusOK, "change", pageData{Title: "Change password", Error: "Your password was updated.", Reason: "rules"})
	default:
		s.render(w, http.StatusOK, "change", pageData{Title: "Change password", OK: true})
	}
}

// changeLocked changes u's password to nw when the current password,
// the confirmation, rules, the history and the daily limit allow it. It
// returns why not (a reason for the page's data-reason, and a message), or
// "" twice.
func (s *Site) changeLocked(u *user, cur, nw, confirm string, rules func(string) error) (reason, msg string) {
	switch {
	case cur != u.Password:
		return "current", "Your current password is not right."
	case nw != confirm:
		return "mismatch", "The new passwords do not match."
	case rules(nw) != nil:
		return "rules", rules(nw).Error()
	case nw == u.Password || slices.Contains(u.history, nw):
		return "reused", "You used that password recently. Choose another."
	case s.changesLocked(u) >= s.opts.ChangesPerDay:
		return "limit", "Too many password changes today. Try again tomorrow."
	}
	// "None of the last 5": the current one and the 4 before it.
	u.history = append(u.history, u.Password)
	if len(u.history) > 4 {
		u.history = u.history[len(u.history)-4:]
	}
	u.Password = nw
	u.changes = append(u.changes, s.opts.Now())
	return "", ""
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	s.signOut(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// signOut ends the request's session and clears its cookie.
func (s *Site) signOut(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		delete(s.sessions, c.Value)
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
}

func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "the admin API answers loopback clients only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Site) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/users", s.adminListUsers)
	mux.HandleFunc("POST /admin/users", s.adminAddUser)
	mux.HandleFunc("GET /admin/users/{name}", s.adminGetUser)
	mux.HandleFunc("PATCH /admin/users/{name}", s.adminPatchUser)
	mux.HandleFunc("GET /admin/layout", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"layout": s.Layout()})
	})
	mux.HandleFunc("PUT /admin/layout", s.adminSetLayout)
	mux.HandleFunc("PUT /admin/captcha", s.adminSetCaptcha)
	return mux
}

// writeJSON answers an admin API request with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// adminFail answers an admin API request with {"error": msg}.
func adminFail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// adminListUsers lists every user's state, by name.
func (s *Site) adminListUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := []UserState{}
	for _, u := range s.users {
		out = append(out, s.stateLocked(u))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b UserState) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

// adminAddUser adds the user the body describes.
func (s *Site) adminAddUser(w http.ResponseWriter, r *http.Request) {
	var u UserSpec
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		adminFail(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if err := s.AddUser(u); err != nil {
		adminFail(w, http.StatusConflict, err.Error())
		return
	}
	st, _ := s.User(u.Name)
	writeJSON(w, http.StatusCreated, st)
}

// adminGetUser reports one user's state.
func (s *Site) adminGetUser(w http.ResponseWriter, r *http.Request) {
	st, ok := s.User(r.PathValue("name"))
	if !ok {
		adminFail(w, http.StatusNotFound, "no such user")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// userPatch is what PATCH /admin/users/{name} may change; a field left
// out stays as it is.
type userPatch struct {
	Captcha     *bool `json:"captcha"`
	TrustPrompt *bool `json:"trust_prompt"`
	TwoStep     *bool `json:"two_step"`
	Locked      *bool `json:"locked"`
	Break       *bool `json:"break_login_after_change"`
}

// apply sets u's fields that the patch gives; the caller holds the site's
// lock.
func (patch userPatch) apply(u *user) {
	if patch.Captcha != nil {
		u.Captcha = *patch.Captcha
	}
	if patch.TrustPrompt != nil {
		u.TrustPrompt = *patch.TrustPrompt
	}
	if patch.TwoStep != nil {
		u.TwoStep = *patch.TwoStep
	}
	if patch.Locked != nil {
		u.locked = *patch.Locked
	}
	if patch.Break != nil {
		u.breakAfterChange = *patch.Break
	}
}

// adminPatchUser changes a user's challenges and failure modes.
func (s *Site) adminPatchUser(w http.ResponseWriter, r *http.Request) {
	var patch userPatch
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&patch); err != nil {
		adminFail(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	u, ok := s.users[r.PathValue("name")]
	if ok {
		patch.apply(u)
	}
	s.mu.Unlock()
	if !ok {
		adminFail(w, http.StatusNotFound, "no such user")
		return
	}
	st, _ := s.User(r.PathValue("name"))
	writeJSON(w, http.StatusOK, st)
}

// adminSetLayout switches the site's layout, "v1" or "v2".
func (s *Site) adminSetLayout(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Layout string `json:"layout"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		adminFail(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if err := s.SetLayout(body.Layout); err != nil {
		adminFail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"layout": body.Layout})
}

// adminSetCaptcha sets after how many sign-ins from untrusted browsers a
// user gets the CAPTCHA (Options.CaptchaAfter).
func (s *Site) adminSetCaptcha(w http.ResponseWriter, r *http.Request) {
	var body struct {
		After int `json:"after"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.After < 0 {
		adminFail(w, http.StatusBadRequest, "want {\"after\": N}, N >= 0")
		return
	}
	s.mu.Lock()
	s.opts.CaptchaAfter = body.After
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"after": body.After})
}
