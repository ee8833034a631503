// Package importer turns other tools' templates into rotator templates:
// senhasegura's execution templates and Chrome DevTools Recorder exports.
//
// An importer maps every construct of its source. What it cannot map is
// reported with the source's line (or step) number and what to do: it is
// never dropped silently. The YAML it writes passes `rotator template
// validate`; the notes say what a person must still check.
//
// [Suggest] turns the fields the browser's detector finds on a page into a
// template fragment, for `rotator template suggest`.
package importer

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rotator-pam/rotator/templates"
)

// Note is something the author must know about the import.
type Note struct {
	// Line is the source's line (senhasegura) or step number (Recorder),
	// 0 for the whole file.
	Line int
	// Step is set when Line counts Recorder steps, not lines.
	Step bool
	// Warning is set for what the author must act on; others are
	// information.
	Warning bool
	Msg     string
}

func (n Note) String() string {
	if n.Line == 0 {
		return n.level() + ": " + n.Msg
	}
	unit := "line"
	if n.Step {
		unit = "step"
	}
	return fmt.Sprintf("%s %d: %s: %s", unit, n.Line, n.level(), n.Msg)
}

// In is the note as said of the source file: "file:12: warning: ..." for
// a source line, as compilers write it so that editors jump to it; "file:
// step 3: note: ..." for a Recorder step, "file: warning: ..." for the
// whole file.
func (n Note) In(file string) string {
	if n.Line > 0 && !n.Step {
		return fmt.Sprintf("%s:%d: %s: %s", file, n.Line, n.level(), n.Msg)
	}
	return file + ": " + n.String()
}

func (n Note) level() string {
	if n.Warning {
		return "warning"
	}
	return "note"
}

// Result is an imported template.
type Result struct {
	// YAML is the template, ready for `rotator template validate`.
	YAML  []byte
	Notes []Note
}

// step is one template step under construction.
type step struct {
	kind    string
	arg     any // string, []string, or map for conditions
	extra   [][2]any
	comment string
	line    int
	// cond is a condition for wait_for and expect: one key and a value.
	condKey, condVal string
}

func (s step) node() *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v any) {
		var vn yaml.Node
		vn.Encode(v)
		if seq, ok := v.([]string); ok && len(seq) > 1 {
			vn.Style = yaml.FlowStyle
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
	}
	if s.condKey != "" {
		cond := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		var vn yaml.Node
		vn.Encode(s.condVal)
		cond.Content = append(cond.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.condKey}, &vn)
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.kind}, cond)
	} else {
		add(s.kind, s.arg)
	}
	for _, kv := range s.extra {
		add(kv[0].(string), kv[1])
	}
	if s.comment != "" {
		m.HeadComment = s.comment
	}
	return m
}

// doc is a template under construction.
type doc struct {
	name, description, baseURL, userAgent string
	stepTimeout, runTimeout               string
	viewport                              [2]int
	params                                map[string]string // name: description
	flows                                 map[string][]step
	headComment                           string
}

// noLogoutSelector stands in a placeholder logout flow: it matches nothing,
// so the flow stops with its message until a person writes the flow.
const noLogoutSelector = "#rotator-import-add-a-logout-flow"

func (d *doc) render() ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: d.headComment}
	// kv adds a key and its value, and returns the value's node.
	kv := func(k string, v any) *yaml.Node {
		var vn yaml.Node
		vn.Encode(v)
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
		return &vn
	}
	kv("name", d.name)
	kv("description", d.description)
	kv("base_url", d.baseURL)
	if d.userAgent != "" {
		kv("user_agent", d.userAgent)
	}
	if d.viewport[0] > 0 {
		kv("viewport", map[string]int{"width": d.viewport[0], "height": d.viewport[1]}).Style = yaml.FlowStyle
	}
	if d.stepTimeout != "" || d.runTimeout != "" {
		tm := map[string]string{}
		if d.stepTimeout != "" {
			tm["step"] = d.stepTimeout
		}
		if d.runTimeout != "" {
			tm["run"] = d.runTimeout
		}
		kv("timeouts", tm).Style = yaml.FlowStyle
	}
	if len(d.params) > 0 {
		names := make([]string, 0, len(d.params))
		for n := range d.params {
			names = append(names, n)
		}
		sort.Strings(names)
		pm := &yaml.Node{Kind: yaml.MappingNode}
		for _, n := range names {
			var vn yaml.Node
			vn.Encode(map[string]string{"description": d.params[n], "default": ""})
			vn.Style = yaml.FlowStyle
			pm.Content = append(pm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, &vn)
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "params"}, pm)
	}
	flows := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range []string{templates.FlowLogin, templates.FlowChange, templates.FlowLogout, templates.FlowVerify} {
		steps, ok := d.flows[f]
		if !ok {
			continue
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, s := range steps {
			seq.Content = append(seq.Content, s.node())
		}
		flows.Content = append(flows.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f}, seq)
	}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "flows"}, flows)
	return Encode(root)
}

// Encode writes a YAML mapping (with its comments) as rotator's templates
// are written: two-space indents.
func Encode(root *yaml.Node) ([]byte, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// result renders the template, checks that it parses as rotator would,
// and returns it with the notes.
func (d *doc) result(notes []Note) (*Result, error) {
	y, err := d.render()
	if err != nil {
		return nil, err
	}
	if _, diags := templates.Parse(d.name+".yaml", y); diags.HasErrors() {
		return nil, fmt.Errorf("the imported template does not validate (please report this):\n%s", diags.Err())
	}
	return &Result{YAML: y, Notes: notes}, nil
}

// notInNameRE is what a template name may not hold: anything but lower-case
// ASCII letters, digits, '.', '_' and '-'.
var notInNameRE = regexp.MustCompile(`[^a-z0-9._-]`)

// safeName makes a template name (lower case, digits, . _ -): spaces
// become '-', other characters go.
func safeName(s string) string {
	out := notInNameRE.ReplaceAllString(strings.ReplaceAll(strings.ToLower(s), " ", "-"), "")
	out = strings.Trim(out, "-._")
	if out == "" {
		return "imported"
	}
	return out
}
