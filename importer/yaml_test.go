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

func TestNoteIn(t *testing.T) {
	for _, c := range []struct {
		n       Note
		str, in string
	}{
		{Note{Line: 12, Warning: true, Msg: "m"}, "line 12: warning: m", "f.psc:12: warning: m"},
		{Note{Line: 3, Step: true, Msg: "m"}, "step 3: note: m", "f.psc: step 3: note: m"},
		{Note{Warning: true, Msg: "m"}, "warning: m", "f.psc: warning: m"},
		{Note{Msg: "m"}, "note: m", "f.psc: note: m"},
	} {
		if got := c.n.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
		if got := c.n.In("f.psc"); got != c.in {
			t.Errorf("In() = %q, want %q", got, c.in)
		}
	}
}
