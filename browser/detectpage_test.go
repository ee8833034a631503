package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDetectPage: a served page and the same page handed over as HTML give
// the same fields, the most confident first; a page that cannot be opened
// is named in the error.
func TestDetectPage(t *testing.T) {
	t.Parallel()
	const page = `<!doctype html><title>Sign in</title><form method="post">
<label for="u">Email</label><input id="u" name="u" type="email">
<label for="p">Password</label><input id="p" name="p" type="password">
<button type="submit">Sign in</button></form>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	roles := func(fields []DetectedField) map[string]bool {
		m := map[string]bool{}
		for i, f := range fields {
			if i > 0 && f.Score > fields[i-1].Score {
				t.Errorf("field %d (%s, %.2f) after a less confident one", i, f.Role, f.Score)
			}
			m[f.Role] = true
		}
		return m
	}
	for _, tt := range []struct{ name, target, html string }{
		{"served", srv.URL, ""},
		{"saved", "saved-login.html", page},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := DetectPage(ctx, Options{}, tt.target, tt.html)
			if err != nil {
				t.Fatal(err)
			}
			if r := roles(fields); !r[RoleUsername] || !r[RolePassword] || !r[RoleSubmit] {
				t.Errorf("roles %v", r)
			}
		})
	}
	if _, err := DetectPage(ctx, Options{}, "http://127.0.0.1:1/", ""); err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1/") {
		t.Errorf("a closed port: %v", err)
	}
}
