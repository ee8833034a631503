package browser

import (
	"fmt"
	"sync"
	"testing"

	"github.com/go-rod/rod/lib/proto"
)

// The secret guard's last look, just before the text or a key goes in,
// reads the field in a world of its own, which the site's scripts cannot
// hook: here Document.prototype.hasFocus, at its third call, would move
// the focus to another origin's frame in a microtask, after the look.
func TestGuardReadsAHookedDOM(t *testing.T) {
	t.Parallel()
	for _, keys := range []bool{false, true} {
		t.Run(fmt.Sprint("keys ", keys), func(t *testing.T) {
			t.Parallel()
			evil := newEvil(t, trapPage, false)
			srv := site(t, map[string]string{"/login": fmt.Sprintf(`<!doctype html><input id="password" type="password">
<iframe id="ad" src="%s/"></iframe><script>
const real = Document.prototype.hasFocus;
let calls = 0;
Document.prototype.hasFocus = function () { if (++calls === 3) queueMicrotask(() => document.getElementById("ad").contentWindow.focus()); return real.call(this); };
</script>`, evil.URL)})
			r := exfilRunner(t, parseTemplate(t, chainFillTemplate("#password", keys, "10s")), srv.URL)
			err := r.RunFlow(ctxFor(t), "login")
			t.Logf("flow: %v", err)
			if got, leaked := evil.requests("/typed"); leaked || len(got) > 0 {
				t.Fatalf("the other origin received typing (%d requests, the password: %v); flow: %v", len(got), leaked, err)
			}
		})
	}
}

// The guard's look makes one isolated world for a fill, not one a key:
// each is a JavaScript context the page keeps until it navigates.
// Chromium gives back the frame's world of that name when there is one,
// so the guard asks for it at every look and keeps nothing.
func TestGuardMakesOneWorldAFill(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{"/login": `<!doctype html><input id="password" type="password">`})
	r := exfilRunner(t, parseTemplate(t, chainFillTemplate("#password", true, "10s")), srv.URL)
	var mu sync.Mutex
	worlds := 0
	ctx := ctxFor(t)
	go r.Page.Context(ctx).EachEvent(func(e *proto.RuntimeExecutionContextCreated) {
		if e.Context.Name == "rotator-guard" {
			mu.Lock()
			worlds++
			mu.Unlock()
		}
	})()
	if err := r.RunFlow(ctx, "login"); err != nil {
		t.Fatal(err)
	}
	got, err := r.Page.Eval(`() => document.getElementById("password").value`)
	if err != nil || got.Value.Str() != exfilPassword {
		t.Fatalf("typed %v, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if worlds != 1 {
		t.Errorf("the fill of %d keys made %d isolated worlds", len(exfilPassword), worlds)
	}
}
