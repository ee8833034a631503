package demosite

import (
	"cmp"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// A skin is a layout that mimics a real site as senhasegura's execution
// templates saw it (../shared/data/segura-templates, from
// github.com/senhasegura/execution-templates, "HTTP/Change password/"):
// the paths, field names, ids, button texts and behaviours of its sign-in,
// second-factor, change-password and logout pages, over the same users,
// sessions, TOTP, history and daily limit as v1 and v2. rotator's shipped
// templates for those sites are tested against them, which is the only
// place they can run here: the live sites are out of reach.
//
// A skin's sign-in takes the identifier and the password on one page, as
// those sites did, so a two-step user signs in there in one step. The
// stages a skin does not draw itself (the trust prompt, and the CAPTCHA but
// on facebook) are v1's pages at v1's paths.
type skin struct {
	name string
	// login is the sign-in page; loginPost is where its form posts.
	login, loginPost string
	// pages are the stages the skin draws itself, at these paths
	// (stageIn: the home page). Stages that share a path share a page,
	// which shows the session's stage, as a real site's checkpoint does.
	pages map[stage]string
	// change is the change-password page, where its form posts too.
	// changed, when set, is where a change that took leads; else the
	// page shows the form again, with a confirmation.
	change, changed string
	// changePost, when set, is where the change form posts (else change).
	changePost string
	logout     string
	// aliases are paths that lead to others (GET), as a site's old
	// addresses do.
	aliases map[string]string
	// require are more sign-in fields, each with the values it takes; a
	// sign-in without one is refused ("required").
	require map[string][]string
	f       fields
	// rules are the site's own password rules.
	rules func(string) error
	// msgs are the site's words for a refusal, by reason; v1's English
	// message otherwise.
	msgs map[string]string
}

// fields are the names of a skin's form fields.
type fields struct {
	user, pass, code, captcha, current, new, confirm string
}

// skins are the sites the demo site can pass for.
func skins() []*skin {
	return []*skin{facebookSkin(), twitterSkin(), linkedinSkin(),
		awsSkin(), flowoneSkin(), op5Skin(), reportingSkin(), swsSkin(), tsleeSkin()}
}

func skinNamed(name string) *skin {
	for _, sk := range skins() {
		if sk.name == name {
			return sk
		}
	}
	return nil
}

func skinNames() []string {
	var out []string
	for _, sk := range skins() {
		out = append(out, sk.name)
	}
	return out
}

// facebookSkin is m.facebook.com as Facebook.psc drives it, in the
// Portuguese it was written for: the sign-in form at the root (lines 1,
// 9-12), the news feed at /home.php (line 18), the password settings at
// /settings/account/?password (lines 20, 25-31), and the logout link the
// template clicks by its text, "Sair" (line 36). The form stays on the page
// after a change, with a confirmation above it, and the second factor and
// the CAPTCHA are asked on the same /checkpoint/ page, as Facebook's are.
func facebookSkin() *skin {
	return &skin{
		name: "facebook", login: "/", loginPost: "/login.php",
		pages:  map[stage]string{stageCaptcha: "/checkpoint/", stageTOTP: "/checkpoint/", stageIn: "/home.php"},
		change: "/settings/account/?password", logout: "/logout.php",
		f: fields{user: "email", pass: "pass", code: "approvals_code", captcha: "captcha_response",
			current: "old_password", new: "new_password", confirm: "confirm_password"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "A senha inserida está incorreta.",
			"code":        "O código de login inserido não é válido.",
			"code-used":   "Esse código já foi usado. Aguarde um novo.",
			"captcha":     "O texto digitado não corresponde ao da imagem.",
			"current":     "Sua senha atual está incorreta.",
			"mismatch":    "As senhas novas não coincidem.",
			"rules":       "Escolha uma senha mais forte: pelo menos 12 caracteres, com letras minúsculas, maiúsculas e números.",
			"reused":      "Você usou essa senha recentemente. Escolha outra.",
			"limit":       "Você alterou sua senha muitas vezes hoje. Tente novamente amanhã.",
		},
	}
}

// twitterSkin is mobile.twitter.com as Twitter.psc drives it: the sign-in
// at /login with session[username_or_email], session[password] and a
// commit button (lines 1, 6-9), the password settings at
// /settings/password (lines 13, 17, 19-22), which lead back to /settings
// once the change took (line 25); /logout is a GET that signs out. Its rule is
// Twitter's own, 8 characters or more (Apple's password-rules.json).
func twitterSkin() *skin {
	return &skin{
		name: "twitter", login: "/login", loginPost: "/sessions",
		pages:  map[stage]string{stageTOTP: "/account/login_verification", stageIn: "/home"},
		change: "/settings/password", changed: "/settings", logout: "/logout",
		f: fields{user: "session[username_or_email]", pass: "session[password]", code: "challenge_response",
			current: "settings[current_password]", new: "settings[password]", confirm: "settings[password_confirmation]"},
		rules: twitterRules,
		msgs: map[string]string{
			"credentials": "The username and password you entered did not match our records. Please double-check and try again.",
		},
	}
}

// linkedinSkin is www.linkedin.com as Linkedin.psc drives it: the
// sign-in at /uas/login with session_key, session_password and a signin
// button (lines 7, 10-13), the feed at /nhome/?trk= (line 16), and the
// change page at /psettings/change-password (lines 17, 20-25), whose save
// button is disabled until a script would enable it (line 24: the template
// sets its disabled property) and whose refusals are a p.error (line 27). The
// second factor is LinkedIn's two-step challenge, under
// /checkpoint/challenge/.
func linkedinSkin() *skin {
	return &skin{
		name: "linkedin", login: "/uas/login", loginPost: "/uas/login-submit",
		pages:  map[stage]string{stageTOTP: "/checkpoint/challenge/verify", stageIn: "/nhome/?trk="},
		change: "/psettings/change-password", logout: "/m/logout/",
		f: fields{user: "session_key", pass: "session_password", code: "pin",
			current: "oldPassword", new: "newPassword", confirm: "newPasswordConfirm"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Hmm, that's not the right password. Please try again or request a new one.",
		},
	}
}

// twitterRules is Twitter's password rule: at least 8 characters.
func twitterRules(pw string) error {
	if utf8.RuneCountInString(pw) < 8 {
		return errString("Your password needs to be at least 8 characters. Please enter a longer password.")
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// say is the skin's message for a refusal.
func (sk *skin) say(reason, msg string) string {
	if m, ok := sk.msgs[reason]; ok {
		return m
	}
	return msg
}

// stagePages are the skin's pages, and v1's TOTP page where the skin has
// none of its own.
func (sk *skin) stagePages() map[stage]string {
	pages := maps.Clone(sk.pages)
	if _, ok := pages[stageTOTP]; !ok {
		pages[stageTOTP] = classicMap().at[stageTOTP]
	}
	return pages
}

func (sk *skin) sitemap() sitemap {
	m := classicMap()
	m.login = sk.login
	for st, p := range sk.stagePages() {
		m.at[st] = p
	}
	return m
}

// route is the mux pattern of a page's path: its query cut off, and a path
// that ends in a slash matched exactly rather than as a subtree.
func route(method, p string) string {
	p, _, _ = strings.Cut(p, "?")
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	return method + " " + p
}

// skinMux serves the site in sk.
func (s *Site) skinMux(sk *skin, admin http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.skinRoot(sk))
	if sk.login != "/" {
		mux.HandleFunc(route("GET", sk.login), func(w http.ResponseWriter, r *http.Request) {
			s.renderSkin(w, http.StatusOK, sk, "login", pageData{Title: "Log in"})
		})
	}
	mux.HandleFunc(route("POST", sk.loginPost), s.skinLogin(sk))
	byPath := map[string][]stage{}
	for st, p := range sk.stagePages() {
		if st != stageIn {
			byPath[p] = append(byPath[p], st)
		}
	}
	for p, sts := range byPath {
		mux.HandleFunc(route("GET", p), s.skinStagePage(sk, sts))
		mux.HandleFunc(route("POST", p), s.skinStage(sk, sts))
	}
	s.stageRoutes(mux)
	mux.HandleFunc(route("GET", sk.pages[stageIn]), s.skinSignedIn(sk, "home"))
	mux.HandleFunc(route("GET", sk.change), s.skinSignedIn(sk, "change"))
	mux.HandleFunc(route("POST", cmp.Or(sk.changePost, sk.change)), s.skinChange(sk))
	for from, to := range sk.aliases {
		mux.Handle(route("GET", from), http.RedirectHandler(to, http.StatusFound))
	}
	if sk.changed != "" {
		mux.HandleFunc(route("GET", sk.changed), s.skinSignedIn(sk, "changed"))
	}
	mux.HandleFunc(route("GET", sk.logout), func(w http.ResponseWriter, r *http.Request) {
		s.signOut(w, r)
		http.Redirect(w, r, sk.login, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /.well-known/change-password", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sk.change, http.StatusFound)
	})
	mux.Handle("/admin/", admin)
	return mux
}

// skinRoot sends a signed-in browser home, and any other to the sign-in,
// which on facebook is the root itself.
func (s *Site) skinRoot(sk *skin) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch _, in := s.signedIn(w, r); {
		case in:
			http.Redirect(w, r, sk.pages[stageIn], http.StatusFound)
		case sk.login == "/":
			s.renderSkin(w, http.StatusOK, sk, "login", pageData{Title: "Log in"})
		default:
			http.Redirect(w, r, sk.login, http.StatusFound)
		}
	}
}

// skinLogin takes the sign-in form: a wrong identifier or password shows
// the form again with the site's error, as these sites do (HTTP 200).
func (s *Site) skinLogin(sk *skin) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue(sk.f.user))
		pw := r.PostFormValue(sk.f.pass)
		s.mu.Lock()
		u, ok := s.users[name]
		if ok && u.locked {
			s.mu.Unlock()
			s.render(w, http.StatusForbidden, "locked", pageData{Title: "Locked"})
			return
		}
		if !ok || !u.passwordOK(pw) {
			if sess := s.sessionLocked(w, r, false); sess != nil {
				*sess = session{}
			}
			s.mu.Unlock()
			s.renderSkin(w, http.StatusOK, sk, "login", pageData{Title: "Log in", Error: sk.say("credentials", "Wrong username or password.")})
			return
		}
		if field := sk.missing(r); field != "" {
			s.mu.Unlock()
			s.renderSkin(w, http.StatusOK, sk, "login", pageData{Title: "Log in", Error: sk.say("required", "Fill in "+field+"."), Reason: "required"})
			return
		}
		sess := s.sessionLocked(w, r, true)
		*sess = session{user: name}
		next := s.nextLocked(r, sess, u)
		s.mu.Unlock()
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// missing is the first of the skin's required sign-in fields that the
// form leaves empty or sets to a value it does not take.
func (sk *skin) missing(r *http.Request) string {
	for _, name := range slices.Sorted(maps.Keys(sk.require)) {
		if !slices.Contains(sk.require[name], r.PostFormValue(name)) {
			return name
		}
	}
	return ""
}

// currentOf is current for the first of sts the session is at.
func (s *Site) currentOf(w http.ResponseWriter, r *http.Request, sts []stage) (*session, *user, stage, bool) {
	for _, st := range sts {
		if sess, u, ok := s.current(w, r, st); ok {
			return sess, u, st, true
		}
	}
	return nil, nil, "", false
}

// skinStagePage shows the page of the stage, among sts, that the session
// is at.
func (s *Site) skinStagePage(sk *skin, sts []stage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		sess, u, st, ok := s.currentOf(w, r, sts)
		if !ok {
			s.toSignInLocked(w, r)
			return
		}
		if st == stageCaptcha && sess.captchaWord == "" {
			sess.captchaWord = captchaWords[mrand.IntN(len(captchaWords))]
		}
		s.mu.Unlock()
		s.renderSkin(w, http.StatusOK, sk, string(st), pageData{Title: string(st), User: u.Name, Nonce: token()[:8]})
	}
}

// skinStage takes the answer to the stage, among sts, that the session is
// at: the next stage's page, or the same page with the site's error.
func (s *Site) skinStage(sk *skin, sts []stage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		sess, u, st, ok := s.currentOf(w, r, sts)
		if !ok {
			s.toSignInLocked(w, r)
			return
		}
		if reason, msg := s.passLocked(sk, sess, u, st, r); reason != "" {
			s.mu.Unlock()
			s.renderSkin(w, http.StatusOK, sk, string(st), pageData{Title: string(st), User: u.Name,
				Error: sk.say(reason, msg), Reason: reason, Nonce: token()[:8]})
			return
		}
		next := s.nextLocked(r, sess, u)
		s.mu.Unlock()
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// passLocked checks the answer to stage st of a skin's sign-in and
// records it; it returns why it was refused, or "" twice.
func (s *Site) passLocked(sk *skin, sess *session, u *user, st stage, r *http.Request) (reason, msg string) {
	switch st {
	case stageCaptcha:
		word := strings.ToLower(strings.TrimSpace(r.PostFormValue(sk.f.captcha)))
		if sess.captchaWord == "" || word != sess.captchaWord {
			sess.captchaWord = captchaWords[mrand.IntN(len(captchaWords))]
			return "captcha", "Type the word shown in the picture."
		}
		sess.captchaPassed = true
	case stageTOTP:
		if reason, msg := s.acceptTOTPLocked(u, r.PostFormValue(sk.f.code)); reason != "" {
			return reason, msg
		}
		sess.totpPassed = true
	}
	return "", ""
}

// skinSignedIn shows a page for signed-in browsers only.
func (s *Site) skinSignedIn(sk *skin, page string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.signedIn(w, r)
		if !ok {
			http.Redirect(w, r, sk.login, http.StatusSeeOther)
			return
		}
		s.renderSkin(w, http.StatusOK, sk, page, pageData{Title: page, User: u.Name})
	}
}

// skinChange takes the change-password form, with the skin's rules.
func (s *Site) skinChange(sk *skin) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		_, u, ok := s.current(w, r, stageIn)
		if !ok {
			s.toSignInLocked(w, r)
			return
		}
		reason, msg := s.changeLocked(u, r.PostFormValue(sk.f.current), r.PostFormValue(sk.f.new), r.PostFormValue(sk.f.confirm), sk.rules)
		name := u.Name
		s.mu.Unlock()
		switch {
		case reason != "":
			s.renderSkin(w, http.StatusOK, sk, "change", pageData{Title: "change", User: name, Error: sk.say(reason, msg), Reason: reason})
		case sk.changed != "":
			http.Redirect(w, r, sk.changed, http.StatusSeeOther)
		default:
			s.renderSkin(w, http.StatusOK, sk, "change", pageData{Title: "change", User: name, OK: true})
		}
	}
}

func (s *Site) renderSkin(w http.ResponseWriter, status int, sk *skin, page string, d pageData) {
	d.Layout = sk.name
	for _, vs := range sk.require {
		d.Options = vs
	}
	name := sk.name + "-" + page
	if skinPages.Lookup(name) == nil {
		name = "any-" + page
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = skinPages.ExecuteTemplate(w, name, d)
}
