package term

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	in := &Input{In: strings.NewReader("pw one\r\nsecond\nlast")}
	for _, want := range []string{"pw one", "second", "last"} {
		got, err := in.Line("value")
		if err != nil || got != want {
			t.Fatalf("Line = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := in.Line("TOTP secret"); err == nil || err.Error() != "no TOTP secret on standard input" {
		t.Errorf("after the last line: %v", err)
	}
}

func TestLineEmptyInput(t *testing.T) {
	in := &Input{In: strings.NewReader("")}
	if _, err := in.Line("password"); err == nil || err.Error() != "no password on standard input" {
		t.Errorf("empty input: %v", err)
	}
	in = &Input{In: strings.NewReader("\n")}
	if got, err := in.Line("password"); err != nil || got != "" {
		t.Errorf("an empty line: %q, %v", got, err)
	}
}

func TestReadYes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"y\n", true}, {"YES\n", true}, {" yes ", true}, {"n\n", false}, {"\n", false}, {"", false}, {"yep\n", false},
	} {
		got, err := readYes(strings.NewReader(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("readYes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a file is a terminal")
	}
}
