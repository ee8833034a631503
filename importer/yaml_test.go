package importer

import "testing"

func TestSafeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Facebook", "facebook"},
		{"My Site v2.1", "my-site-v2.1"},
		{"  --Ünïcode_Name.. ", "ncode_name"},
		{"a/b\\c:d", "abcd"},
		{"---", "imported"},
		{"", "imported"},
	} {
		if got := safeName(c.in); got != c.want {
			t.Errorf("safeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
