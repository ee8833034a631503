package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A template is code that handles passwords: Find refuses one that group
// or others may write, in templates.dir or given by path, and names the
// file and the fix.
func TestFindRefusesWritableTemplates(t *testing.T) {
	src, err := os.ReadFile("demo-social.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "mysite.yaml")
	if err := os.WriteFile(p, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if tpl, diags := Find("mysite", dir); tpl == nil {
		t.Fatalf("a 0600 template is refused: %v", diags.Err())
	}
	for _, mode := range []os.FileMode{0o620, 0o602, 0o666} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"mysite", p} {
			tpl, diags := Find(name, dir)
			err := diags.Err()
			if tpl != nil || err == nil {
				t.Errorf("mode %04o, %s: loaded", mode, name)
				continue
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "group or others may write it") ||
				!strings.Contains(err.Error(), "chmod go-w "+p) {
				t.Errorf("mode %04o, %s: %v", mode, name, err)
			}
		}
	}
	// A templates.dir that others may write is refused too: they could
	// replace the file.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if tpl, diags := Find("mysite", dir); tpl != nil || diags.Err() == nil || !strings.Contains(diags.Err().Error(), "chmod go-w "+dir) {
		t.Errorf("a writable templates.dir: %v", diags.Err())
	}
	// Validating a file only reads it: template validate still works on a
	// draft.
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if tpl, diags := LoadFile(p); tpl == nil {
		t.Errorf("LoadFile: %v", diags.Err())
	}
}

// A template file or templates.dir owned by another user is refused
// whatever its mode: its owner may rewrite it.
func TestFindRefusesOthersTemplates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	src, err := os.ReadFile("demo-social.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "mysite.yaml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mysite", p} {
		if tpl, diags := Find(name, dir); tpl != nil || !strings.Contains(fmt.Sprint(diags.Err()), "belongs to uid 65534") {
			t.Errorf("%s owned by another user: %v", name, diags.Err())
		}
	}
	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if tpl, diags := Find("mysite", dir); tpl != nil || !strings.Contains(fmt.Sprint(diags.Err()), "belongs to uid 65534") {
		t.Errorf("a templates.dir owned by another user: %v", diags.Err())
	}
}
