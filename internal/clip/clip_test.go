package clip

import (
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer text", 10, "a longe..."},
		{"ééééé", 8, "éé..."}, // never half a character
		{"abc", 2, "..."},
	} {
		got := String(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("String(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
