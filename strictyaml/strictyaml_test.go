package strictyaml

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Min time.Duration `yaml:"min_validity"`
}

type cfg struct {
	Name  string           `yaml:"name"`
	TOTP  inner            `yaml:"totp"`
	List  []inner          `yaml:"list"`
	ByKey map[string]inner `yaml:"by_key"`
	Count int
}

func TestDecode(t *testing.T) {
	var c cfg
	err := Decode("c.yaml", []byte("name: x\ntotp:\n  min_validity: 7s\nlist:\n  - min_validity: 1s\nby_key:\n  a: {min_validity: 2s}\ncount: 3\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "x" || c.TOTP.Min != 7*time.Second || c.List[0].Min != time.Second || c.ByKey["a"].Min != 2*time.Second || c.Count != 3 {
		t.Errorf("%+v", c)
	}
	if err := Decode("empty.yaml", nil, &c); err != nil {
		t.Errorf("empty: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown keys everywhere", "nme: x\ntotp:\n  min: 1s\nlist:\n  - {min_validity: 1s, extra: 2}\nby_key:\n  a: {bogus: 1}\n",
			[]string{`c.yaml:1:1: unknown key "nme" (known keys: by_key, count, list, name, totp)`,
				`c.yaml:3:3: unknown key "min" (known keys: min_validity)`,
				`c.yaml:5:24: unknown key "extra"`, `c.yaml:7:7: unknown key "bogus"`}},
		{"type error", "count: many\n", []string{"c.yaml:1: cannot unmarshal !!str `many` into int"}},
		{"bad duration", "totp:\n  min_validity: soon\n", []string{"c.yaml:2: cannot unmarshal"}},
		{"syntax", "name: [x\n", []string{"c.yaml:"}},
		{"two documents", "name: a\n---\nname: b\n", []string{"c.yaml:2:1: more than one YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c cfg
			err := Decode("c.yaml", []byte(tt.in), &c)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err %v is not an ErrorList", err)
			}
			if len(list) < len(tt.want) {
				t.Fatalf("got %d errors, want %d: %v", len(list), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(list[i].Error(), w) {
					t.Errorf("error %d = %q, want prefix %q", i, list[i].Error(), w)
				}
			}
		})
	}
}
