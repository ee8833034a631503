package accountspec

import (
	"errors"
	"testing"
)

func TestFormatOf(t *testing.T) {
	for file, want := range map[string]string{"a.csv": "csv", "A.CSV": "csv", "a.yaml": "yaml", "dir.v2/a.YML": "yaml", "a.txt": "", "accounts": ""} {
		if got := FormatOf(file); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", file, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	csv := []byte("name,template,username,password\nalice,demo-social,alice,Alice-pass-1234\n")
	if recs, problems, err := Parse("a.txt", "csv", csv); err != nil || len(problems) != 0 || len(recs) != 1 || recs[0].Name != "alice" {
		t.Errorf("csv: %v %v %v", recs, problems, err)
	}
	yml := []byte("- name: bob\n  template: demo-social\n  username: bob\n  password: Bob-pass-12345\n")
	if recs, problems, err := Parse("a.txt", "yaml", yml); err != nil || len(problems) != 0 || len(recs) != 1 || recs[0].Name != "bob" {
		t.Errorf("yaml: %v %v %v", recs, problems, err)
	}
	if _, _, err := Parse("a.txt", "json", yml); !errors.Is(err, ErrFormat) {
		t.Errorf("json: %v", err)
	}
	if _, _, err := Parse("empty.yaml", "yaml", []byte("[]\n")); err == nil || err.Error() != "empty.yaml: no accounts" {
		t.Errorf("no accounts: %v", err)
	}
}
