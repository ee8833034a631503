package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// One console across workers. A page held for an operator lives in one
// worker's Chromium; the vault says which (store.HeldPages) and where that
// worker's console is reached (Advertise). An operator on any worker works
// on it through their own console: the live view's WebSocket and the
// continue/abort decision are relayed to the holding worker's /peer/
// endpoints.
//
// A peer request is authenticated with an HMAC under a key derived from
// the master key (store.PeerMAC), which every worker of the vault holds
// and nothing else does. It covers the method, the path, the worker it is
// for, the sending worker, the time, a nonce and the operator on whose
// behalf it is made. The receiver takes it only when it is for itself,
// within peerSkew of its clock, and its nonce is new: a recorded request
// cannot be replayed. The operator was authenticated by the sending
// worker; the receiver audits the action under that name and the sender's
// id. The receiver answers a request it took with a reply signature over
// the request's nonce (hdrPeerReply), and the sender takes nothing from a
// peer address that does not prove so: whatever else listens there (a
// loopback address dialled on another machine, a server that took the
// address over) gets neither the operator's input nor their trust. Peers
// reach each other over the consoles' own listeners (TLS when configured;
// PeerClient trusts what serve.peer_ca names). The address of each is in
// the vault with an HMAC (store.Advertise), so that someone who writes the
// database without the key cannot point the relay at a server of theirs.

// The peer request headers.
const (
	hdrPeerFrom     = "Rotator-Peer-From"
	hdrPeerTo       = "Rotator-Peer-To"
	hdrPeerTime     = "Rotator-Peer-Time"
	hdrPeerNonce    = "Rotator-Peer-Nonce"
	hdrPeerOperator = "Rotator-Peer-Operator"
	hdrPeerSig      = "Rotator-Peer-Signature"
	hdrPeerReply    = "Rotator-Peer-Reply"
)

// peerSkew bounds the difference between two workers' clocks that a peer
// request tolerates; a nonce is remembered twice as long.
const peerSkew = 30 * time.Second

// nonces remembers the peer requests' nonces seen lately.
type nonces struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// fresh records nonce and reports whether it was new.
func (n *nonces) fresh(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	for k, at := range n.seen {
		if now.Sub(at) > 2*peerSkew {
			delete(n.seen, k)
		}
	}
	if _, ok := n.seen[nonce]; ok {
		return false
	}
	n.seen[nonce] = now
	return true
}

// peerSig is the request's signature.
func (s *Server) peerSig(method, path, to, from, at, nonce, operator string) []byte {
	return s.Store.PeerMAC([]byte(method), []byte(path), []byte(to), []byte(from), []byte(at), []byte(nonce), []byte(operator))
}

// replySig is the holding worker's answer to a request it took: proof that
// it holds the vault's key, bound to the request's nonce.
func (s *Server) replySig(to, from, nonce string) []byte {
	return s.Store.PeerMAC([]byte("reply"), []byte(to), []byte(from), []byte(nonce))
}

// checkReply checks that the answer h to the signed request req came from a
// worker of this vault that took it.
func (s *Server) checkReply(req http.Header, h http.Header) error {
	sig, err := base64.RawURLEncoding.DecodeString(h.Get(hdrPeerReply))
	if err != nil || !hmac.Equal(sig, s.replySig(req.Get(hdrPeerTo), req.Get(hdrPeerFrom), req.Get(hdrPeerNonce))) {
		return errNoPeerProof
	}
	return nil
}

// errNoPeerProof is an answer that did not come from the worker holding
// the page (or that worker refused the request).
var errNoPeerProof = errors.New("the answer at the holding worker's address does not prove it comes from a worker of this vault (another process listens there, or the worker refused the request: see its log)")

// signPeer signs req for the worker to, on behalf of operator.
func (s *Server) signPeer(req *http.Request, to, operator string) error {
	from, err := s.Store.HolderID()
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	at := strconv.FormatInt(s.now().Unix(), 10)
	sig := s.peerSig(req.Method, req.URL.RequestURI(), to, from, at, nonce, operator)
	h := req.Header
	h.Set(hdrPeerFrom, from)
	h.Set(hdrPeerTo, to)
	h.Set(hdrPeerTime, at)
	h.Set(hdrPeerNonce, nonce)
	h.Set(hdrPeerOperator, operator)
	h.Set(hdrPeerSig, base64.RawURLEncoding.EncodeToString(sig))
	return nil
}

// peerAuth lets through only requests another worker of this vault signed
// for this worker, lately and once; the operator they act for is theirs.
func (s *Server) peerAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := s.checkPeer(r)
		if err != nil {
			s.log().Warn("peer request refused", "path", r.URL.Path, "remote", remoteHost(r), "err", err)
			writeError(w, http.StatusUnauthorized, errors.New("not a request from a worker of this vault"))
			return
		}
		w.Header().Set(hdrPeerReply, base64.RawURLEncoding.EncodeToString(s.replySig(r.Header.Get(hdrPeerTo), r.Header.Get(hdrPeerFrom), r.Header.Get(hdrPeerNonce))))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, who)))
	})
}

func (s *Server) checkPeer(r *http.Request) (string, error) {
	h := r.Header
	from, to, at, nonce, op := h.Get(hdrPeerFrom), h.Get(hdrPeerTo), h.Get(hdrPeerTime), h.Get(hdrPeerNonce), h.Get(hdrPeerOperator)
	sig, err := base64.RawURLEncoding.DecodeString(h.Get(hdrPeerSig))
	if err != nil || len(sig) == 0 {
		return "", errors.New("no signature")
	}
	self, err := s.Store.HolderID()
	if err != nil {
		return "", err
	}
	if !hmac.Equal(sig, s.peerSig(r.Method, r.URL.RequestURI(), to, from, at, nonce, op)) {
		return "", errors.New("bad signature")
	}
	if to != self {
		return "", errors.New("signed for another worker")
	}
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return "", errors.New("bad time")
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > peerSkew || d < -peerSkew {
		return "", fmt.Errorf("signed %v away from this worker's clock", d.Round(time.Second))
	}
	if nonce == "" || !s.peerNonces.fresh(nonce, s.now()) {
		return "", errors.New("replayed")
	}
	if op == "" {
		op = "console"
	}
	return op + " (via worker " + from + ")", nil
}

// remoteHeld returns the account's page held by another worker, if the
// vault says one is.
func (s *Server) remoteHeld(ctx context.Context, name string) (store.HeldPage, bool) {
	p, ok, err := s.Store.HeldPageOf(ctx, name)
	if err != nil {
		s.log().Error("held pages", "err", err)
		return p, false
	}
	if !ok {
		return p, false
	}
	if self, err := s.Store.HolderID(); err == nil && p.Holder == self {
		// Ours in the vault but not in memory: its hold is ending.
		return p, false
	}
	return p, true
}

// errHolderGone is a page held by a worker that stopped.
var errHolderGone = errors.New("the worker that held this page stopped; the page is lost (the account stays flagged: open a session, or clear the flag)")

// reachable checks that the page's worker lives and can be reached.
func reachable(p store.HeldPage) error {
	switch {
	case p.HolderDead:
		return errHolderGone
	case p.PeerForged:
		return fmt.Errorf("%w: the vault's address for the worker holding it (%s) is not one that worker advertised (its HMAC does not check): not dialled", errConflict, p.Holder)
	case p.Peer == "":
		return fmt.Errorf("%w: the worker holding it (%s) advertises no console address (serve.advertise)", errConflict, p.Holder)
	}
	return nil
}

// peerURL is path on the page's worker, with scheme ws or http.
func peerURL(p store.HeldPage, path string) (string, error) {
	u, err := url.Parse(p.Peer)
	if err != nil {
		return "", fmt.Errorf("the holding worker's console address: %w", err)
	}
	u.Path = path
	return u.String(), nil
}

func (s *Server) peerClient() *http.Client {
	if s.PeerClient != nil {
		return s.PeerClient
	}
	return http.DefaultClient
}

// peerError is a holding worker's refusal, relayed with its status.
type peerError struct {
	status int
	msg    string
}

func (e *peerError) Error() string { return e.msg }

// decideRemote relays an operator's decision to the worker holding p.
func (s *Server) decideRemote(r *http.Request, p store.HeldPage, abort bool) (string, error) {
	if err := reachable(p); err != nil {
		return "", err
	}
	verb := "resolve"
	if abort {
		verb = "abort"
	}
	u, err := peerURL(p, "/peer/flags/"+url.PathEscape(p.Account)+"/"+verb)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 35*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(nil))
	if err != nil {
		return "", err
	}
	if err := s.signPeer(req, p.Holder, operator(r)); err != nil {
		return "", err
	}
	resp, err := s.peerClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("reach the worker holding the page: %w", err)
	}
	defer resp.Body.Close()
	if err := s.checkReply(req.Header, resp.Header); err != nil {
		return "", fmt.Errorf("%w (%s)", err, resp.Status)
	}
	var body struct{ Result, Error string }
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		if body.Error == "" {
			body.Error = resp.Status
		}
		return "", &peerError{status: resp.StatusCode, msg: body.Error}
	}
	return body.Result, nil
}

// liveRemote relays the live view of a page another worker holds: the
// operator's WebSocket here, one to the holding worker's /peer/live, and
// every message passed through as it is.
func (s *Server) liveRemote(w http.ResponseWriter, r *http.Request, p store.HeldPage) {
	if err := reachable(p); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	u, err := peerURL(p, "/peer/live/"+url.PathEscape(p.Account))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if err := s.signPeer(req, p.Holder, operator(r)); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	dctx, dcancel := context.WithTimeout(r.Context(), 10*time.Second)
	up, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: s.peerClient(), HTTPHeader: req.Header})
	dcancel()
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 {
			status = resp.StatusCode
		}
		writeError(w, status, fmt.Errorf("the worker holding the page refused the live view or cannot be reached: %v", err))
		return
	}
	defer up.CloseNow()
	if err := s.checkReply(req.Header, resp.Header); err != nil {
		writeError(w, http.StatusBadGateway, err)
		return
	}
	up.SetReadLimit(4 << 20) // frames
	down, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer down.CloseNow()
	down.SetReadLimit(16 << 10)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := make(chan struct{}, 2)
	pipe := func(dst, src *websocket.Conn) {
		defer func() { done <- struct{}{} }()
		for {
			typ, b, err := src.Read(ctx)
			if err != nil {
				if cs := websocket.CloseStatus(err); cs != -1 {
					dst.Close(cs, "")
				}
				return
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err = dst.Write(wctx, typ, b)
			wcancel()
			if err != nil {
				return
			}
		}
	}
	go pipe(down, up)
	go pipe(up, down)
	<-done
	cancel()
	<-done
}

// peerDecide is the holding worker's end of decideRemote.
func (s *Server) peerDecide(abort bool) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		h, ok := s.Rotator.Holds.Get(r.PathValue("name"))
		if !ok {
			// Never relayed further: a page is relayed at most once.
			return "", fmt.Errorf("%w: %s", rotator.ErrNotHeld, r.PathValue("name"))
		}
		return decideHeld(r, h, abort)
	}
}

// peerLive is the holding worker's end of liveRemote.
func (s *Server) peerLive(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, ok := s.Rotator.Holds.Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: %s", rotator.ErrNotHeld, name))
		return
	}
	s.serveLive(w, r, h, &websocket.AcceptOptions{InsecureSkipVerify: true}) // no browser: no Origin to check
}

// advertiseHost is the host of the advertised address, which the console
// must answer to.
func advertiseHost(advertise string) string {
	u, err := url.Parse(advertise)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
