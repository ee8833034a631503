package console

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// The tests here attack the console across workers as someone who can
// write the vault's database but has not the master key, and as another
// process listening where a worker's console is advertised.

// vaultSQL runs q on e's vault file directly, as someone with write access
// to the database and not the master key.
func vaultSQL(t *testing.T, e *env, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.vault+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// capture is a server that records the peer requests it gets and answers
// as a holding worker would.
type capture struct {
	mu      sync.Mutex
	headers []http.Header
	typed   []string
	srv     *httptest.Server
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.headers = append(c.headers, r.Header.Clone())
		c.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/peer/live/") {
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return
			}
			defer ws.CloseNow()
			// A page of its own making, then what the operator types.
			ws.Write(r.Context(), websocket.MessageText, []byte(`{"type":"frame","w":1,"h":1,"data":""}`))
			for {
				_, b, err := ws.Read(r.Context())
				if err != nil {
					return
				}
				c.mu.Lock()
				c.typed = append(c.typed, string(b))
				c.mu.Unlock()
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": "resumed: the rotation goes on with the step after the challenge"})
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) got() ([]http.Header, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]http.Header(nil), c.headers...), append([]string(nil), c.typed...)
}

// heldByB records in the vault that e's worker (B) holds carl's page.
func heldByB(t *testing.T, e *env) string {
	t.Helper()
	now := time.Now()
	if err := e.store.RecordHeld(context.Background(), store.HeldPage{Account: "carl", Kind: string(rotator.HeldChallenge), RunID: 1,
		Since: now, Until: now.Add(time.Hour), Challenge: "captcha"}); err != nil {
		t.Fatal(err)
	}
	b, err := e.store.HolderID()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// operatorPost sends an operator's POST (signed in with c) to the console
// at base.
func operatorPost(t *testing.T, base, path string, c *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, nil)
	req.AddCookie(c)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// operatorTypes opens the live view of name on the console at base, waits
// for a frame and types text in it.
func operatorTypes(t *testing.T, base, name string, c *http.Cookie, text string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Cookie", c.Name+"="+c.Value)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/live/"+name, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); err != nil {
		return err
	}
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"text","text":"`+text+`"}`))
	time.Sleep(200 * time.Millisecond)
	ws.Close(websocket.StatusNormalClosure, "")
	return nil
}

// Someone who writes the vault's database points the holding worker's
// advertised address at a server of their own. The relaying worker must
// not send it the operator's live view and decisions: that server would
// show the operator a page of its making and read what they type, and the
// signed request it gets (never seen by the holding worker, so its nonce
// is fresh) would pass the holding worker's check for 30 s.
func TestPeerAddressRewrittenInTheVaultIsNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false) // worker B, holding carl's page
	a := e.worker()       // worker A, where the operator is
	heldByB(t, e)
	evil := newCapture(t)
	b, _ := e.store.HolderID()
	vaultSQL(t, e, `UPDATE peers SET url = ? WHERE holder = ?`, evil.srv.URL, b)

	c := e.signIn()
	code, body := operatorPost(t, a.srv.URL, "/api/flags/carl/resolve", c)
	err := operatorTypes(t, a.srv.URL, "carl", c, "123456")
	hs, typed := evil.got()
	if len(hs) > 0 {
		// Show what the capture is worth: the signed request, sent on to
		// the real holding worker, passes its check.
		req, _ := http.NewRequest("POST", e.srv.URL+"/peer/flags/carl/resolve", nil)
		req.Header = hs[0].Clone()
		resp, rerr := http.DefaultClient.Do(req)
		replayed := 0
		if rerr == nil {
			replayed = resp.StatusCode
			resp.Body.Close()
		}
		t.Errorf("worker A sent %d peer requests to the address written into the vault (decision %d %q; live view err %v; typed %q); "+
			"the first, sent on to worker B, answered %d", len(hs), code, body, err, typed, replayed)
	}
	if code == http.StatusOK {
		t.Errorf("the operator was told %q", body)
	}
}

// Someone who writes the vault's database adds a console session for a
// cookie of their own: no sign-in, no token, nothing in the audit log.
func TestSignInCannotBeForgedInTheVault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.signIn() // a real session, as any vault in use has
	cookie := "mallory-knows-this-cookie"
	vaultSQL(t, e, `INSERT INTO console_sessions (id_hash, operator, token_hash, expires_at)
		SELECT ?, 'operator:tester@127.0.0.1', value, ? FROM vault_meta WHERE key = 'console_token'`,
		HashToken(cookie), time.Now().Add(24*time.Hour).UnixMilli())
	if code, body := get(t, e.srv.URL, "/api/flags", &http.Cookie{Name: sessionCookie, Value: cookie}); code != http.StatusUnauthorized {
		t.Errorf("a session row written into the vault by hand signs in: %d %s", code, body)
	}
	// Nor does an existing session's row, changed by hand, change who it is.
	c := e.signIn()
	vaultSQL(t, e, `UPDATE console_sessions SET operator = 'operator:someone-else@127.0.0.1', expires_at = ? WHERE id_hash = ?`,
		time.Now().Add(365*24*time.Hour).UnixMilli(), HashToken(c.Value))
	if code, body := get(t, e.srv.URL, "/api/flags", c); code != http.StatusUnauthorized {
		t.Errorf("a session row altered by hand still signs in: %d %s", code, body)
	}
}

// A worker that advertises a loopback address (its console listens on
// loopback) is reached there by workers on its own machine; a worker on
// another machine dials its own loopback, where any local user may listen.
// Whatever answers at a peer's address must prove it holds the vault's
// key before the operator's decision is reported done or their input is
// sent to it.
func TestPeerImpostorAtTheAdvertisedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a := e.worker()
	heldByB(t, e)
	impostor := newCapture(t)
	// B itself advertises the address (the vault is as B wrote it); here
	// it is another process's.
	if err := e.store.Advertise(context.Background(), impostor.srv.URL); err != nil {
		t.Fatal(err)
	}
	c := e.signIn()
	code, body := operatorPost(t, a.srv.URL, "/api/flags/carl/resolve", c)
	if code == http.StatusOK {
		t.Errorf("an impostor's answer was taken as the holding worker's: %d %q", code, body)
	}
	if err := operatorTypes(t, a.srv.URL, "carl", c, "hunter2"); err == nil {
		t.Error("the live view was relayed to an impostor")
	}
	if _, typed := impostor.got(); len(typed) > 0 {
		t.Errorf("the impostor read what the operator typed: %q", typed)
	}
}

// echoPeer advertises, as e's worker, a peer endpoint behind the real peer
// authentication that echoes the live view's input as its frames; the
// channel closes when its WebSocket ended.
func echoPeer(t *testing.T, e *env) <-chan struct{} {
	t.Helper()
	upClosed := make(chan struct{})
	echo := e.con.peerAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer close(upClosed)
		defer ws.CloseNow()
		for {
			typ, b, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			ws.Write(r.Context(), typ, b)
		}
	}))
	b := httptest.NewServer(echo)
	t.Cleanup(b.Close)
	if err := e.store.Advertise(context.Background(), b.URL); err != nil {
		t.Fatal(err)
	}
	return upClosed
}

// liveThrough opens the live view of carl on the console at base, signed
// in with c, and checks one message through and back.
func liveThrough(t *testing.T, ctx context.Context, base string, c *http.Cookie) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Cookie", c.Name+"="+c.Value)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/live/carl", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("the relayed live view: %v", err)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"key","key":"a"}`)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := ws.Read(ctx); err != nil || string(got) != `{"type":"key","key":"a"}` {
		t.Fatalf("through the relay and back: %q %v", got, err)
	}
	return ws
}

// The relay of the live view through a real peer endpoint (the holding
// worker's /peer/ authentication around an echo of the page): the reply
// signature passes on the WebSocket's handshake, messages go both ways,
// and when the operator leaves, the relay ends both of its connections.
func TestPeerLiveRelayEndsBothSides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a := e.worker()
	heldByB(t, e)
	upClosed := echoPeer(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := liveThrough(t, ctx, a.srv.URL, e.signIn())
	ws.Close(websocket.StatusNormalClosure, "")
	select {
	case <-upClosed:
	case <-ctx.Done():
		t.Fatal("the operator left; the relay's connection to the holding worker stayed open")
	}
}

// A live view lasts as long as its sign-in: signing out (on any worker) or
// a new access token ends an open one, and with it the relay to the
// holding worker. (Its WebSocket outlives the request that was checked.)
func TestSignInEndedEndsTheLiveView(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a := e.worker()
	a.con.liveRecheck = 50 * time.Millisecond
	heldByB(t, e)
	for _, end := range []string{"sign-out", "new token"} {
		upClosed := echoPeer(t, e)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := e.signIn()
		ws := liveThrough(t, ctx, a.srv.URL, c)
		switch end {
		case "sign-out":
			if code, _ := operatorPost(t, e.srv.URL, "/logout", c); code != http.StatusOK && code != http.StatusSeeOther {
				t.Fatalf("sign out: %d", code)
			}
		case "new token":
			_, hash := NewToken()
			if err := e.store.SetConsoleToken(ctx, hash, "test"); err != nil {
				t.Fatal(err)
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		_, _, err := ws.Read(rctx)
		if err == nil || rctx.Err() != nil {
			t.Errorf("after a %s, the live view is still open (%v)", end, err)
		}
		rcancel()
		select {
		case <-upClosed:
		case <-time.After(3 * time.Second):
			t.Errorf("after a %s, the relay to the holding worker is still open", end)
		}
		ws.CloseNow()
		cancel()
	}
}

// Someone who writes the database without the master key replaces the
// access token's hash with their own token's: they must not sign in with it
// (they would see every account's TOTP codes, which the vault keeps sealed
// from them, and open browsers on the accounts' saved sessions).
func TestSignInWithATokenWrittenIntoTheVault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	mine, hash := NewToken()
	vaultSQL(t, e, `UPDATE vault_meta SET value = ? WHERE key = 'console_token'`, hash)
	e.token = mine
	e.con.tokens = tokenCache{} // no need to wait the cache's second
	resp := e.request("POST", "/login", "token="+mine+"&name=mallory", nil)
	if resp.StatusCode == http.StatusSeeOther {
		t.Error("a token whose hash was written into the vault by hand signs in")
	}
	if code, _ := e.api("GET", "/api/flags"); code != http.StatusUnauthorized {
		t.Errorf("a token whose hash was written into the vault by hand is taken as a Bearer token: %d", code)
	}
}
