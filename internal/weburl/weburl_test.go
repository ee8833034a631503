package weburl

import (
	"net/url"
	"testing"
)

func TestParse(t *testing.T) {
	for _, ok := range []string{"https://example.com", "HTTP://Example.com:8080/x?y", "http://127.0.0.1:1/", "https://[::1]/"} {
		if !Is(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "example.com", "/login", "file:///etc/passwd", "javascript:alert(1)", "data:text/html,x",
		"ftp://example.com", "https://", "http:///path", "%zz"} {
		if Is(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShown(t *testing.T) {
	for _, c := range []struct {
		in       string
		hostOnly bool
		want     string
	}{
		{"https://u:secret@example.com/login?pw=secret#x", false, "https://example.com/login?..."},
		{"https://example.com/trust", false, "https://example.com/trust"},
		{"https://hooks.example.com/services/T1/B2/secret", true, "https://hooks.example.com/..."},
		{"https://u:secret@hooks.example.com", true, "https://hooks.example.com"},
		{"%zz", false, "(a URL that does not parse)"},
	} {
		if got := Shown(c.in, c.hostOnly); got != c.want {
			t.Errorf("Shown(%q, %v) = %q, want %q", c.in, c.hostOnly, got, c.want)
		}
	}
}

// CheckScheme lets a browser open http and https only, in any case.
func TestCheckScheme(t *testing.T) {
	for raw, ok := range map[string]bool{"https://x/": true, "HTTP://x/": true, "file:///etc/passwd": false,
		"javascript:alert(1)": false, "data:text/html,x": false, "FILE:///x": false} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckScheme(u); (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
