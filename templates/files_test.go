package templates

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.yaml", "a.yml", "notes.txt", "sub/c.yaml", "testdata/skip.yaml", ".hidden/skip.yaml", "empty/x.json"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	single := filepath.Join(dir, "notes.txt")
	got, err := Files([]string{single, dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{single, filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "sub/c.yaml")}
	if !slices.Equal(got, want) {
		t.Errorf("Files = %q\nwant   %q", got, want)
	}

	t.Run("folder without templates", func(t *testing.T) {
		_, err := Files([]string{filepath.Join(dir, "empty")})
		if want := "no *.yaml or *.yml files in " + filepath.Join(dir, "empty"); err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := Files([]string{filepath.Join(dir, "nope.yaml")}); !os.IsNotExist(err) {
			t.Errorf("err = %v, want not exist", err)
		}
	})
}
