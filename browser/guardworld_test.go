package browser

import (
	"fmt"
	"testing"
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
