package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rotator-pam/rotator/store"
)

// TokenPrefix starts every console access token, so a leaked one is easy to
// find with a secret scanner.
const TokenPrefix = "rtc_"

// NewToken returns a fresh access token (256 random bits) and the hash the
// vault keeps of it.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is what the vault keeps of a token. The token is 256 random
// bits, so a plain SHA-256 is enough: nothing can be guessed from it.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// sessionCookie names the console's session cookie.
const sessionCookie = "rotator_console"

// newSession records a sign-in in the vault, so every worker's console
// knows it, and returns the cookie's value (256 random bits; the vault
// keeps only its SHA-256).
func (s *Server) newSession(ctx context.Context, operator string, tokenHash []byte, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	err := s.Store.AddConsoleSession(ctx, HashToken(id), store.ConsoleSession{Operator: operator, TokenHash: tokenHash, Expires: s.now().Add(ttl)}, s.now())
	return id, err
}

// tokenCache keeps the vault's token hash for a second, so `rotator token
// new` takes effect at once without a vault read per request.
type tokenCache struct {
	mu   sync.Mutex
	hash []byte
	read time.Time
}

// currentToken returns the vault's token hash (nil when there is none).
func (s *Server) currentToken(ctx context.Context) []byte {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	now := s.now()
	if now.Sub(s.tokens.read) < time.Second && !s.tokens.read.IsZero() {
		return s.tokens.hash
	}
	h, err := s.Store.ConsoleToken(ctx)
	if err != nil {
		h = nil
	}
	s.tokens.hash, s.tokens.read = h, now
	return h
}

// checkToken compares a presented token with the vault's, in constant
// time.
func (s *Server) checkToken(ctx context.Context, token string) ([]byte, bool) {
	want := s.currentToken(ctx)
	if len(want) == 0 || token == "" {
		return nil, false
	}
	got := HashToken(token)
	return want, subtle.ConstantTimeCompare(got, want) == 1
}

type operatorKey struct{}

// operator names who is signed in, for the audit log.
func operator(r *http.Request) string {
	if o, ok := r.Context().Value(operatorKey{}).(string); ok {
		return o
	}
	return "console"
}

// authenticate lets through requests with a valid session cookie or an
// `Authorization: Bearer` token; pages send others to the sign-in page,
// the API answers 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok, wait := s.who(r)
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, errors.New("too many refused access tokens from this address: try again later"))
			return
		}
		if !ok {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rotator"`)
				writeError(w, http.StatusUnauthorized, errors.New("sign in: a session cookie or an Authorization: Bearer token is required"))
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, who)))
	})
}

// who returns the operator a request comes from. A Bearer token is
// throttled like the sign-in form: while wait is set it is not even
// checked.
func (s *Server) who(r *http.Request) (who string, ok bool, wait time.Duration) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", false, 0
		}
		addr := clientKey(remoteHost(r))
		wait, first, done := s.throttle.allow(addr, s.now())
		s.auditSummaries(r.Context(), done)
		if wait > 0 {
			if first {
				s.audit(r.Context(), "api@"+remoteHost(r), "", "console.api", "throttled", "too many refused access tokens from "+addr)
			}
			return "", false, wait
		}
		if _, ok := s.checkToken(r.Context(), strings.TrimSpace(tok)); ok {
			s.auditSummaries(r.Context(), s.throttle.succeeded(addr, s.now()))
			return "api@" + remoteHost(r), true, 0
		}
		first, done = s.throttle.refused(addr, s.now())
		s.auditSummaries(r.Context(), done)
		if first {
			s.audit(r.Context(), "api@"+remoteHost(r), "", "console.api", "refused", "wrong access token")
		}
		return "", false, 0
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false, 0
	}
	op, ok, err := s.sessionFor(r.Context(), c.Value)
	if err != nil {
		s.log().Error("console session", "err", err)
	}
	return op, ok, 0
}

// sessionFor checks a session cookie's value against the vault: the
// operator it signed in as, or ok false. A session made with a replaced
// access token is removed. err is a vault that could not be read (ok is
// then false too).
func (s *Server) sessionFor(ctx context.Context, cookie string) (operator string, ok bool, err error) {
	sess, err := s.Store.ConsoleSessionByHash(ctx, HashToken(cookie), s.now())
	if errors.Is(err, store.ErrNoSession) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if cur := s.currentToken(ctx); subtle.ConstantTimeCompare(cur, sess.TokenHash) != 1 {
		s.Store.RemoveConsoleSession(ctx, HashToken(cookie))
		return "", false, nil
	}
	return sess.Operator, true, nil
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// CheckHost refuses (421) a Host header outside the configured names: a
// page on another name that resolves to this address (DNS rebinding) gets
// nothing. The console's Handler applies it; serve wraps the whole listener
// (/metrics and /healthz too) in it. Call it after Handler.
func (s *Server) CheckHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if _, ok := s.hosts[host]; !ok {
			writeError(w, http.StatusMisdirectedRequest, errors.New("this console does not answer to that host name"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders keep the console's pages out of frames and away from
// other origins' scripts.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
