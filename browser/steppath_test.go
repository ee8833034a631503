package browser

import (
	"reflect"
	"slices"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

func TestStepPathFormat(t *testing.T) {
	tests := []struct {
		in   string
		want StepPath
	}{
		{"3", StepPath{{N: 3}}},
		{"5.then.1", StepPath{{N: 5, Branch: "then"}, {N: 1}}},
		{"5.else.2", StepPath{{N: 5, Branch: "else"}, {N: 2}}},
		{"6.2", StepPath{{N: 6}, {N: 2}}},
		{"6.1.then.3", StepPath{{N: 6}, {N: 1, Branch: "then"}, {N: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseStepPath(tt.in)
			if err != nil || !reflect.DeepEqual(p, tt.want) {
				t.Fatalf("ParseStepPath(%q) = %v, %v; want %v", tt.in, p, err, tt.want)
			}
			if p.String() != tt.in {
				t.Errorf("String() = %q, want %q", p.String(), tt.in)
			}
		})
	}
	for _, bad := range []string{"", "0", "x", "5.then", "5.then.", "5..1", "-1", "5.maybe.1"} {
		if p, err := ParseStepPath(bad); err == nil {
			t.Errorf("ParseStepPath(%q) = %v, want an error", bad, p)
		}
	}
}

func TestStepPathOrder(t *testing.T) {
	in := []string{"6.2", "5.else.1", "10", "5.then.2", "2", "5", "5.then.1", "6", "6.1"}
	want := []string{"2", "5", "5.then.1", "5.then.2", "5.else.1", "6", "6.1", "6.2", "10"}
	ps := make([]StepPath, len(in))
	for i, s := range in {
		ps[i], _ = ParseStepPath(s)
	}
	slices.SortFunc(ps, func(a, b StepPath) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
}

// TestStepPathRoundTripsTheEngine: every path the engine reports, in an if's
// branches and inside a frame, parses, prints back the same, and finds the
// step it reported.
func TestStepPathRoundTripsTheEngine(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{
		"/login": `<!doctype html><h1>Sign in</h1><input id="user">
<iframe id="inner" src="/inner" width="400" height="200"></iframe>`,
		"/inner": `<!doctype html><p id="in">inside</p><input id="code">`,
	})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - if: {exists: "#user"}
      then:
        - fill: "#user"
          value: "{{ username }}"
        - if: {exists: "#nothing-here"}
          then: [{fill: "#user", value: "x"}]
          else: [{expect: {visible: "#user"}}]
    - frame: "#inner"
      steps:
        - expect: {visible: "#in"}
        - if: {exists: "#code"}
          then:
            - fill: "#code"
              value: "123"
    - expect: {url: /login}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	var reps []StepReport
	r.OnStep = func(rep StepReport) { reps = append(reps, rep) }
	if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, rep := range reps {
		paths = append(paths, rep.Path)
		p, err := ParseStepPath(rep.Path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if p.String() != rep.Path {
			t.Errorf("%q prints back as %q", rep.Path, p.String())
		}
		st, ok := p.Lookup(tpl.Flows.Login)
		if !ok || st.Line != rep.Step.Line || st.Column != rep.Step.Column || st.Kind != rep.Step.Kind {
			t.Errorf("%q finds %v at %d:%d, the engine ran %v at %d:%d", rep.Path, st.Kind, st.Line, st.Column, rep.Step.Kind, rep.Step.Line, rep.Step.Column)
		}
	}
	for _, want := range []string{"2.then.1", "2.then.2.else.1", "3.1", "3.2.then.1", "4"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no step %s reported: %v", want, paths)
		}
	}
}
