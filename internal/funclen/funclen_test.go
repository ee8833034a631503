package funclen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No product function in the repository is over 80 lines (issue 12).
func TestRepositoryFunctionsAreShort(t *testing.T) {
	long, err := Long(filepath.Join("..", ".."), 80)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range long {
		t.Errorf("over 80 lines: %s", l)
	}
}

// Long finds a long function and a long literal, and ignores test files.
func TestLong(t *testing.T) {
	dir := t.TempDir()
	body := strings.Repeat("\tx++\n", 5)
	src := "package p\n\nfunc short() { var x int; _ = x }\n\nfunc long() {\n\tvar x int\n" + body + "\t_ = x\n}\n\nvar f = func() {\n\tvar x int\n" + body + "\t_ = x\n}\n"
	for name, text := range map[string]string{"p.go": src, "p_test.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Long(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.Contains(got[0], "p.go:5 long (9 lines)") || !strings.Contains(got[1], "p.go:15 func literal (9 lines)") {
		t.Fatalf("got %q", got)
	}
}
