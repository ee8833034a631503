package rotator

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
)

// truncating serves the demo site as a site that silently keeps only the
// first n characters of a new password.
func truncating(h http.Handler, n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/settings/password" && r.ParseForm() == nil {
			for _, k := range []string{"new", "confirm"} {
				if v := r.PostForm.Get(k); len(v) > n {
					r.PostForm.Set(k, v[:n])
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// A site that stores something other than what was typed (it truncates):
// the rotation confirms nothing, does not succeed, flags the account, and
// keeps every password it had and the one it typed.
func TestSiteStoresSomethingOtherThanTyped(t *testing.T) {
	t.Parallel()
	site := demosite.New(demosite.Options{ChangesPerDay: 10})
	e := newEnvServing(t, t.TempDir(), site, truncating(site.Handler(), 16))
	e.rot.Random = rand.NewChaCha8([32]byte{1})
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := ctxFor(t)
	res, err := e.rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome == rotation.Succeeded {
		t.Fatalf("%+v %v", res, err)
	}
	if e.sitePassword("alice") == "Alice-pass-1234" {
		t.Fatal("the site did not take the truncated password")
	}
	acct, _ := e.store.Account(ctx, "alice")
	if acct.State != store.StateNeedsOperator {
		t.Errorf("state %s, want needs_operator", acct.State)
	}
	if e.current("alice") != "Alice-pass-1234" {
		t.Error("current changed")
	}
	typed, err := e.store.Pending(ctx, "alice")
	if err != nil || !strings.HasPrefix(typed.Reveal(), e.sitePassword("alice")) {
		t.Errorf("the typed password is not kept (%v)", err)
	}
}
