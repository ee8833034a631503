// Package console is the operator's web console, served by `rotator serve`:
// every account at a glance, the flags queue, runs with their step
// timelines and screenshots, TOTP codes, and the live view in which an
// operator resolves a challenge on the paused page itself.
//
// # Security
//
//   - Operators sign in with the access token from `rotator init` or
//     `rotator token new`; the vault keeps only its hash. Sessions are
//     random, kept in the vault (as their SHA-256) so that a sign-in holds
//     on every worker, and end when the token is replaced. The
//     cookie is HttpOnly, SameSite=Strict, and Secure under TLS.
//   - Refused sign-ins are throttled per client address (an IPv6 /64),
//     with a global backstop: past a few, 429 with Retry-After, and the
//     token is not even checked. The audit log gets the first refusal of
//     a 10-minute window and one summary row with the count.
//   - Cross-origin requests that change anything are refused
//     (net/http's CrossOriginProtection), the live view's WebSocket checks
//     its Origin, and a Host header outside the configured names is
//     refused (DNS rebinding), on every path of serve's listener.
//   - Chromium's DevTools endpoint is never exposed: the live view relays
//     the page's frames out and an operator's mouse and keyboard in, and
//     only while a page is held for an operator.
//   - Every operator action goes to the audit log.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

//go:embed web
var webFS embed.FS

// Server is the console.
type Server struct {
	Store   *store.Store
	Rotator *rotator.Rotator
	// Hosts are the names the console answers to (the Host header);
	// loopback names are always allowed.
	Hosts []string
	// Secure is set under TLS: the session cookie is then Secure.
	Secure bool
	Logger *slog.Logger
	Now    func() time.Time
	// Context bounds the browser sessions operators open (the serving
	// process's lifetime).
	Context context.Context
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration

	// Advertise is where the other workers reach this console (its URL),
	// recorded in the vault; "" when it is not reachable by them.
	Advertise string
	// PeerClient makes the requests to other workers' consoles (default:
	// http.DefaultClient).
	PeerClient *http.Client

	// liveRecheck is how often an open live view checks that its sign-in
	// still holds (default 5 s).
	liveRecheck time.Duration

	hosts      map[string]struct{}
	throttle   throttle
	peerNonces nonces
	tokens     tokenCache
	pages      *template.Template
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Handler returns the console's HTTP handler.
func (s *Server) Handler() (http.Handler, error) {
	s.hosts = map[string]struct{}{"localhost": {}, "127.0.0.1": {}, "::1": {}}
	for _, h := range s.Hosts {
		s.hosts[strings.ToLower(strings.Trim(h, "[]"))] = struct{}{}
	}
	if h := advertiseHost(s.Advertise); h != "" {
		s.hosts[h] = struct{}{}
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	s.pages = pages
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}

	open := http.NewServeMux()
	open.HandleFunc("GET /login", s.loginPage)
	open.HandleFunc("POST /login", s.login)
	open.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))

	in := http.NewServeMux()
	in.HandleFunc("POST /logout", s.logout)
	in.HandleFunc("GET /{$}", s.page("accounts", s.accountsData))
	in.HandleFunc("GET /accounts/{name}", s.page("account", s.accountData))
	in.HandleFunc("GET /flags", s.page("flags", s.flagsData))
	in.HandleFunc("GET /runs/{id}", s.page("run", s.runData))
	in.HandleFunc("GET /live/{name}", s.page("live", s.liveData))
	in.HandleFunc("GET /runs/{id}/files/{file}", s.runFile)

	in.HandleFunc("GET /api/accounts", s.api(s.apiAccounts))
	in.HandleFunc("GET /api/accounts/{name}", s.api(s.apiAccount))
	in.HandleFunc("POST /api/accounts/{name}/otp", s.api(s.apiOTP))
	in.HandleFunc("POST /api/accounts/{name}/session", s.action(s.openSession))
	in.HandleFunc("GET /api/flags", s.api(s.apiFlags))
	in.HandleFunc("GET /api/runs/{id}", s.api(s.apiRun))
	in.HandleFunc("POST /api/flags/{name}/resolve", s.action(s.decide(false)))
	in.HandleFunc("POST /api/flags/{name}/abort", s.action(s.decide(true)))
	in.HandleFunc("POST /api/flags/{name}/clear", s.action(s.clear))
	in.HandleFunc("GET /api/live/{name}", s.live)

	open.Handle("/", s.authenticate(in))

	// Other workers of the vault (peer.go): the live view and decisions
	// on pages this worker holds.
	peer := http.NewServeMux()
	peer.HandleFunc("GET /peer/live/{name}", s.peerLive)
	peer.HandleFunc("POST /peer/flags/{name}/resolve", s.action(s.peerDecide(false)))
	peer.HandleFunc("POST /peer/flags/{name}/abort", s.action(s.peerDecide(true)))
	open.Handle("/peer/", s.peerAuth(peer))
	if s.Context != nil {
		go s.auditThrottled(s.Context)
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, errors.New("cross-origin request refused"))
	}))
	return s.CheckHost(securityHeaders(cop.Handler(open))), nil
}

// --- sign-in ---

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", map[string]any{"Error": loginMessage(r.URL.Query().Get("error"))})
}

// loginMessage maps a sign-in page's error code to its fixed message. The
// page never shows text taken from the link: an unknown code gets a
// generic message.
func loginMessage(code string) string {
	switch code {
	case "":
		return ""
	case "expired":
		return "Your session ended: sign in again."
	case "token":
		return "That token is not this console's access token."
	case "throttled":
		return "Too many refused sign-ins: wait a moment, then try again."
	}
	return "Sign-in failed: try again."
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := strings.TrimSpace(r.PostFormValue("token"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = "operator"
	}
	if store.ValidateName(name) != nil {
		s.render(w, r, http.StatusBadRequest, "login", map[string]any{"Error": "A name is 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit."})
		return
	}
	who := fmt.Sprintf("operator:%s@%s", name, remoteHost(r))
	addr := clientKey(remoteHost(r))
	wait, first, done := s.throttle.allow(addr, s.now())
	s.auditSummaries(r.Context(), done)
	if wait > 0 {
		// Not even checked against the token.
		if first {
			s.audit(r.Context(), who, "", "console.signin", "throttled", "too many refused sign-ins from "+addr)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.render(w, r, http.StatusTooManyRequests, "login", map[string]any{"Error": loginMessage("throttled")})
		return
	}
	hash, ok := s.checkToken(r.Context(), token)
	if !ok {
		first, done := s.throttle.refused(addr, s.now())
		s.auditSummaries(r.Context(), done)
		if first {
			s.audit(r.Context(), who, "", "console.signin", "refused", "wrong or missing access token")
		}
		msg := loginMessage("token")
		if len(s.currentToken(r.Context())) == 0 {
			msg = "This vault has no console access token yet: create one with `rotator token new`."
		}
		s.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Error": msg})
		return
	}
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	id, err := s.newSession(r.Context(), who, hash, ttl)
	if err != nil {
		s.log().Error("console sign-in", "err", err)
		s.render(w, r, http.StatusInternalServerError, "login", map[string]any{"Error": "The sign-in could not be recorded in the vault; try again."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ttl / time.Second)})
	s.auditSummaries(r.Context(), s.throttle.succeeded(addr, s.now()))
	s.audit(r.Context(), who, "", "console.signin", "succeeded", "")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// auditSummaries writes one audit row per ended window of refused or
// throttled sign-ins.
func (s *Server) auditSummaries(ctx context.Context, done []summary) {
	for _, sum := range done {
		s.audit(ctx, "console", "", "console.signin", "refused", sum.detail())
	}
}

// auditThrottled writes the summaries of ended windows each minute, and
// all pending ones when ctx ends.
func (s *Server) auditThrottled(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.auditSummaries(ctx, s.throttle.flush(s.now()))
			return
		case <-t.C:
			s.auditSummaries(ctx, s.throttle.sweepNow(s.now()))
		}
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.Store.RemoveConsoleSession(r.Context(), HashToken(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	s.audit(r.Context(), operator(r), "", "console.signout", "succeeded", "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) audit(ctx context.Context, actor, account, action, outcome, detail string) {
	if err := s.Store.Audit(context.WithoutCancel(ctx), store.AuditEvent{Actor: actor, Account: account, Action: action,
		Outcome: outcome, Detail: detail}); err != nil {
		s.log().Error("audit", "action", action, "err", err)
	}
}

// --- rendering ---

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return humanDuration(time.Since(t)) + " ago"
	},
	"ms": func(ms int64) string {
		return (time.Duration(ms) * time.Millisecond).Round(time.Millisecond).String()
	},
	"pct": func(part, whole int64) string {
		if whole <= 0 {
			return "0"
		}
		p := float64(part) * 100 / float64(whole)
		if p < 0.5 {
			p = 0.5
		}
		return strconv.FormatFloat(p, 'f', 1, 64)
	},
	"base": filepath.Base,
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page := map[string]any{"Page": name, "Data": data, "Operator": operator(r), "Message": r.URL.Query().Get("msg")}
	if err := s.pages.ExecuteTemplate(w, name+".html", page); err != nil {
		s.log().Error("render", "page", name, "err", err)
	}
}

// page serves an HTML page from the same data the API returns.
func (s *Server) page(name string, data func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := data(r)
		if err != nil {
			status := statusOf(err)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			s.pages.ExecuteTemplate(w, "error.html", map[string]any{"Page": "error", "Data": err.Error(), "Operator": operator(r)})
			return
		}
		s.render(w, r, http.StatusOK, name, d)
	}
}

// api serves JSON.
func (s *Server) api(data func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := data(r)
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, d)
	}
}

// action runs an operator action. A form posted from a page (with a
// "next" field) is sent back to that page with the outcome; API clients
// get JSON.
func (s *Server) action(do func(*http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		msg, err := do(r)
		if next := r.PostFormValue("next"); next != "" && strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, `\`) {
			if err != nil {
				msg = err.Error()
			}
			u, perr := url.Parse(next)
			if perr == nil {
				q := u.Query()
				q.Set("msg", msg)
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.String(), http.StatusSeeOther)
				return
			}
		}
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": msg})
	}
}

// errConflict is an action the account's state does not allow.
var errConflict = errors.New("conflict")

func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNoRun), errors.Is(err, os.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, rotator.ErrNotHeld), errors.Is(err, rotator.ErrStillChallenged), errors.Is(err, errConflict):
		return http.StatusConflict
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, errHolderGone):
		return http.StatusGone
	case errors.Is(err, errNoPeerProof):
		return http.StatusBadGateway
	}
	if pe := (*peerError)(nil); errors.As(err, &pe) {
		return pe.status
	}
	return http.StatusInternalServerError
}

var errBadRequest = errors.New("bad request")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
