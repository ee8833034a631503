package browser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// The page moves the focus to another origin's frame, not at once but in
// its next task or microtask, when the field gets the focus or is
// cleared: the secret is not typed there.
func TestSecretNotTypedWhenFocusMovesAfterTheCheck(t *testing.T) {
	t.Parallel()
	moves := map[string]string{
		"focus, microtask":    `pw.addEventListener("focus", () => queueMicrotask(move))`,
		"focus, timeout":      `pw.addEventListener("focus", () => setTimeout(move, 0))`,
		"clearing, microtask": `pw.addEventListener("input", () => { if (pw.value === "") queueMicrotask(move) })`,
	}
	for name, js := range moves {
		for _, keys := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, keys %v", name, keys), func(t *testing.T) {
				t.Parallel()
				evil := newEvil(t, trapPage, false)
				srv := site(t, map[string]string{"/login": fmt.Sprintf(`<!doctype html><input id="password" type="password" value="old">
<iframe id="ad" src="%s/"></iframe><script>
const pw = document.getElementById("password");
const move = () => document.getElementById("ad").contentWindow.focus();
%s
</script>`, evil.URL, js)})
				r := exfilRunner(t, parseTemplate(t, chainFillTemplate("#password", keys, "10s")), srv.URL)
				err := r.RunFlow(ctxFor(t), templates.FlowLogin)
				if got, leaked := evil.requests("/typed"); leaked || len(got) > 0 {
					t.Fatalf("the other origin received typing (%d requests, the password: %v); flow: %v", len(got), leaked, err)
				}
				if err == nil || !strings.Contains(err.Error(), "does not hold the focus") {
					t.Errorf("got %v, want the secret refused", err)
				}
			})
		}
	}
}
