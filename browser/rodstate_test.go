package browser

import (
	"context"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"
)

// Once a session is closed, the shared browser's go-rod client keeps
// nothing of it: rod caches, per browser, each page and the parameters of
// every method's last call (Input.insertText with a secret typed, the
// account's storage put back). A session's cache is its own, emptied at
// its end; shared, it grew by a few KB a session for as long as Chromium
// ran, secrets included.
func TestClosedSessionLeavesNothingInRod(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := reviewSite(t, map[string]string{"/": `<!doctype html><input id="pw" type="password" autofocus>`})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	pa.MustElement("#pw").MustFocus()
	if err := pa.InsertText(exfilPassword); err != nil {
		t.Fatal(err)
	}
	tid, sid, rb := pa.TargetID, pa.SessionID, a.Rod()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var it proto.InputInsertText
	if rb.LoadState(sid, &it) {
		t.Errorf("the shared client still holds the closed session's last typed text (%d characters; the password: %v)",
			len(it.Text), it.Text == exfilPassword)
	}
	if p, err := c.inst.root.PageFromTarget(tid); err == nil && p != nil {
		t.Errorf("the shared client still holds the closed session's page %s", tid)
	}
}
