package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotator"
)

// frameMsg is one frame on the live view's WebSocket.
type frameMsg struct {
	Type string  `json:"type"` // frame
	W    float64 `json:"w"`
	H    float64 `json:"h"`
	// Data is the JPEG (base64 in JSON).
	Data []byte `json:"data"`
}

// endMsg says why the live view ended.
type endMsg struct {
	Type   string `json:"type"` // end
	Reason string `json:"reason"`
}

// liveQuality is the frames' JPEG quality: readable text, small frames.
const liveQuality = 70

// live is the live view's WebSocket: the held page's frames out, the
// operator's input in. One operator drives a page at a time.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	// Another site's page cannot open the live view with the operator's
	// cookie (websocket.Accept checks this too; this says so first).
	if crossOrigin(r) {
		writeError(w, http.StatusForbidden, errors.New("cross-origin WebSocket refused"))
		return
	}
	// The view lasts as long as the sign-in it was opened with.
	ctx, stop := s.whileSignedIn(r)
	defer stop()
	r = r.WithContext(ctx)
	name := r.PathValue("name")
	h, ok := s.Rotator.Holds.Get(name)
	if !ok {
		if p, ok := s.remoteHeld(r.Context(), name); ok {
			s.liveRemote(w, r, p)
			return
		}
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: %s", rotator.ErrNotHeld, name))
		return
	}
	s.serveLive(w, r, h, nil)
}

// errSignInEnded ends a live view whose sign-in ended.
var errSignInEnded = errors.New("the operator's sign-in ended (signed out, expired, or the access token was replaced)")

// whileSignedIn returns r's context, cancelled with errSignInEnded once the
// session cookie or Bearer token r was let in with no longer signs in:
// signing out, the session's expiry and a new access token end a live view
// (its WebSocket outlives the request that was checked). stop ends the
// watch.
func (s *Server) whileSignedIn(r *http.Request) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(r.Context())
	every := s.liveRecheck
	if every <= 0 {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if !s.stillSignedIn(ctx, r) {
					cancel(errSignInEnded)
					return
				}
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// stillSignedIn checks r's session cookie or Bearer token again, without
// the throttle and audit of a sign-in (r was let in already).
func (s *Server) stillSignedIn(ctx context.Context, r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return false
		}
		_, ok = s.checkToken(ctx, strings.TrimSpace(tok))
		return ok
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	_, ok, err := s.sessionFor(ctx, c.Value)
	// A vault that cannot be read now does not end the view.
	return ok || err != nil
}

// serveLive is the live view of h, a page this worker holds; opts are the
// WebSocket's (nil: Accept checks that the Origin is this host, so another
// site's page cannot open the live view with the operator's cookie).
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request, h *rotator.Held, opts *websocket.AcceptOptions) {
	name := h.Account
	dctx, dcancel := context.WithTimeout(r.Context(), 3*time.Second)
	release, err := h.Drive(dctx)
	dcancel()
	if err != nil {
		writeError(w, http.StatusConflict, errors.New("another operator is working on this page"))
		return
	}
	defer release()
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 10)
	who := operator(r)
	s.audit(r.Context(), who, name, "live.open", "succeeded", fmt.Sprintf("run %d", h.RunID))

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	write := liveWriter(ctx, c)

	counts := map[string]int{}
	readDone := make(chan error, 1)
	go func() { readDone <- s.liveInput(ctx, c, h, name, counts) }()
	castDone := make(chan error, 1)
	go func() {
		castDone <- browser.Screencast(ctx, h.Page(), liveQuality, func(f browser.Frame) error {
			return write(frameMsg{Type: "frame", W: f.Width, H: f.Height, Data: f.JPEG})
		})
	}()

	reason := ""
	select {
	case <-h.Done():
		reason = "the page is no longer held (resumed, aborted or closed)"
		write(endMsg{Type: "end", Reason: reason})
		cancel()
		<-castDone
		c.Close(websocket.StatusNormalClosure, "hold ended")
		<-readDone
	case err := <-readDone:
		reason = "the operator left"
		if cs := websocket.CloseStatus(err); cs == -1 && ctx.Err() == nil {
			reason = "connection lost: " + err.Error()
		}
		cancel()
		<-castDone
	case err := <-castDone:
		reason = "frames stopped"
		if err != nil {
			reason += ": " + err.Error()
		}
		cancel()
		c.Close(websocket.StatusInternalError, "frames stopped")
		<-readDone
	}
	if context.Cause(r.Context()) == errSignInEnded {
		reason = errSignInEnded.Error()
	}
	s.audit(context.WithoutCancel(r.Context()), who, name, "live.close", "succeeded",
		fmt.Sprintf("run %d; %s; input: %d mouse down, %d keys, %d texts typed or pasted, %d wheel", h.RunID, reason,
			counts["mousedown"], counts["key"], counts["text"], counts["wheel"]))
}

// crossOrigin reports whether r comes from another site's page: an Origin
// header whose host is not this one.
func crossOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

// liveWriter returns what sends v on c as one JSON text message: one
// writer at a time, each within 10 s.
func liveWriter(ctx context.Context, c *websocket.Conn) func(v any) error {
	var mu sync.Mutex
	return func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, b)
	}
}

// liveInput reads the operator's input messages from c and dispatches them
// to the held page until the connection ends or a message is not input;
// counts records, per input type, the inputs that reached the page.
func (s *Server) liveInput(ctx context.Context, c *websocket.Conn, h *rotator.Held, name string, counts map[string]int) error {
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var in browser.Input
		if err := json.Unmarshal(b, &in); err != nil {
			return fmt.Errorf("bad input message: %w", err)
		}
		ictx, icancel := context.WithTimeout(ctx, 5*time.Second)
		err = browser.Dispatch(ictx, h.Page(), in)
		icancel()
		switch {
		case err == nil:
			counts[in.Type]++
		case !errors.Is(err, browser.ErrBadInput) && ctx.Err() == nil:
			// CDP errors name the call, never the text typed.
			s.log().Warn("live input", "account", name, "type", in.Type, "err", err)
		}
	}
}
