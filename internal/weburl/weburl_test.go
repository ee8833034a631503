package weburl

import "testing"

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
