package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/strictyaml"
)

// Diagnostic is an error or a warning at a place in a template file.
type Diagnostic struct {
	File         string
	Line, Column int
	Warning      bool
	Msg          string
}

func (d Diagnostic) String() string {
	sev := ""
	if d.Warning {
		sev = "warning: "
	}
	if d.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Line, d.Column, sev, d.Msg)
	}
	return fmt.Sprintf("%s: %s%s", d.File, sev, d.Msg)
}

// Diagnostics are every problem found in a template, in file order.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if !d.Warning {
			return true
		}
	}
	return false
}

// Err returns the errors as one error (nil when there are only warnings).
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return &LoadError{Diags: ds}
}

// LoadError is a template that did not load.
type LoadError struct{ Diags Diagnostics }

func (e *LoadError) Error() string {
	var lines []string
	for _, d := range e.Diags {
		if !d.Warning {
			lines = append(lines, d.String())
		}
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads and parses a template file.
func LoadFile(path string) (*Template, Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse parses a template. It returns the template (nil if there are
// errors) and every diagnostic.
func Parse(file string, data []byte) (*Template, Diagnostics) {
	p := &parser{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "empty template")
			return nil, p.diags
		}
		p.yamlError(err)
		return nil, p.diags
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "more than one YAML document")
	}
	t := p.template(doc.Content[0])
	t.File = file
	sort.SliceStable(p.diags, func(i, j int) bool {
		a, b := p.diags[i], p.diags[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	return t, p.diags
}

func (p *parser) yamlError(err error) {
	e := strictyaml.FromYAMLError(p.file, err)
	col := 0
	if e.Line > 0 {
		col = 1
	}
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: e.Line, Column: col, Msg: "YAML: " + e.Msg})
}

type parser struct {
	file   string
	diags  Diagnostics
	params map[string]Param
	// steps and depth bound the work: YAML aliases can make a small file
	// describe an exponential number of steps.
	nSteps, depth int
}

// Limits on a template's size.
const (
	maxSteps = 2000
	maxDepth = 12
)

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	d := Diagnostic{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Column = n.Line, n.Column
	}
	p.diags = append(p.diags, d)
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.errorf(n, format, args...)
	p.diags[len(p.diags)-1].Warning = true
}

// field is a mapping entry with its key node, for positions.
type field struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping whose keys are all in allowed, and
// returns its entries by key.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) map[string]field {
	n = resolveAlias(n)
	out := map[string]field{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be plain names", what)
			continue
		}
		if !contains(allowed, k.Value) {
			p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			p.errorf(k, "key %q given twice in %s (first on line %d)", k.Value, what, prev.key.Line)
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(f field, what string) string {
	if f.val.Kind != yaml.ScalarNode || f.val.Tag == "!!null" {
		p.errorf(f.val, "%s must be a string", what)
		return ""
	}
	return f.val.Value
}

func (p *parser) boolean(f field, what string) bool {
	var b bool
	if f.val.Kind != yaml.ScalarNode || f.val.Decode(&b) != nil {
		p.errorf(f.val, "%s must be true or false", what)
	}
	return b
}

func (p *parser) duration(f field, what string) time.Duration {
	if f.val.Kind != yaml.ScalarNode {
		p.errorf(f.val, "%s must be a duration like 10s or 2m", what)
		return 0
	}
	d, err := time.ParseDuration(f.val.Value)
	if err != nil || d <= 0 {
		p.errorf(f.val, "%s: %q is not a positive duration like 10s or 2m", what, f.val.Value)
		return 0
	}
	return d
}

func (p *parser) positiveInt(f field, what string) int {
	var n int
	if f.val.Kind != yaml.ScalarNode || f.val.Decode(&n) != nil || n <= 0 {
		p.errorf(f.val, "%s must be a positive whole number", what)
	}
	return n
}

func (p *parser) template(root *yaml.Node) *Template {
	t := &Template{Timeouts: Timeouts{Step: DefaultStepTimeout, Run: DefaultRunTimeout}}
	m := p.mapping(root, "template", "name", "description", "base_url", "origins", "user_agent", "viewport", "proxy",
		"timeouts", "password_rules", "params", "challenges", "rejections", "failures", "max_failed_sign_ins", "flows")
	if f, ok := m["name"]; ok {
		t.Name = p.str(f, "name")
		if t.Name != "" && !validName(t.Name) {
			p.errorf(f.val, "name %q: use lower-case letters, digits, '.', '_' and '-'", t.Name)
		}
	} else {
		p.errorf(root, "template has no name")
	}
	if f, ok := m["description"]; ok {
		t.Description = p.str(f, "description")
	}
	if f, ok := m["base_url"]; ok {
		t.BaseURL = p.str(f, "base_url")
		if !weburl.Is(t.BaseURL) {
			p.errorf(f.val, "base_url %q must be an absolute http or https URL", t.BaseURL)
		}
	} else {
		p.errorf(root, "template has no base_url")
	}
	if f, ok := m["origins"]; ok {
		t.Origins = p.origins(f.val)
	}
	if f, ok := m["user_agent"]; ok {
		t.UserAgent = p.str(f, "user_agent")
	}
	if f, ok := m["viewport"]; ok {
		t.Viewport = p.viewport(f)
	}
	if f, ok := m["proxy"]; ok {
		t.Proxy = p.str(f, "proxy")
		if err := ValidateProxy(t.Proxy); err != nil {
			p.errorf(f.val, "%v", err)
		}
	}
	if f, ok := m["timeouts"]; ok {
		p.timeouts(f, &t.Timeouts)
	}
	if f, ok := m["max_failed_sign_ins"]; ok {
		t.MaxFailedSignIns = p.positiveInt(f, "max_failed_sign_ins")
		if t.MaxFailedSignIns > 10 {
			p.errorf(f.val, "max_failed_sign_ins %d: at most 10 (each failure brings a site's lockout closer)", t.MaxFailedSignIns)
		}
	}
	t.Rules = p.passwordRules(m)
	t.Params = map[string]Param{}
	if f, ok := m["params"]; ok {
		p.paramsInto(f, t.Params)
	}
	p.params = t.Params
	if f, ok := m["challenges"]; ok {
		t.Challenges = p.challenges(f.val)
	}
	if f, ok := m["rejections"]; ok {
		t.Rejections = p.matchers(f.val, "rejection")
	}
	if f, ok := m["failures"]; ok {
		t.Failures = p.matchers(f.val, "failure")
	}
	if f, ok := m["flows"]; ok {
		t.Flows = p.flows(f)
	} else {
		p.errorf(root, "template has no flows")
	}
	return t
}

// passwordRules reads the template's password rules; without any, the
// rules of an empty rule text.
func (p *parser) passwordRules(m map[string]field) PasswordRules {
	f, ok := m["password_rules"]
	if !ok {
		pr, _ := ParsePasswordRules("")
		return pr
	}
	pr, err := ParsePasswordRules(p.str(f, "password_rules"))
	if err != nil {
		p.errorf(f.val, "%v", err)
	}
	return pr
}

// viewport reads the viewport mapping: width and height, both needed.
func (p *parser) viewport(f field) *Viewport {
	vm := p.mapping(f.val, "viewport", "width", "height")
	v := &Viewport{}
	if w, ok := vm["width"]; ok {
		v.Width = p.positiveInt(w, "viewport width")
	} else {
		p.errorf(f.val, "viewport needs width and height")
	}
	if h, ok := vm["height"]; ok {
		v.Height = p.positiveInt(h, "viewport height")
	} else if _, ok := vm["width"]; ok {
		p.errorf(f.val, "viewport needs width and height")
	}
	return v
}

// timeouts reads the timeouts mapping into to, which holds the defaults:
// a step may take no longer than the whole run.
func (p *parser) timeouts(f field, to *Timeouts) {
	tm := p.mapping(f.val, "timeouts", "step", "run")
	if s, ok := tm["step"]; ok {
		to.Step = p.duration(s, "timeouts.step")
	}
	if r, ok := tm["run"]; ok {
		to.Run = p.duration(r, "timeouts.run")
	}
	if to.Step > to.Run && to.Run > 0 {
		p.errorf(f.val, "timeouts.step %v is longer than timeouts.run %v", to.Step, to.Run)
	}
}

// paramsInto reads the params mapping, name to {description, default},
// into params.
func (p *parser) paramsInto(f field, params map[string]Param) {
	pm := resolveAlias(f.val)
	if pm.Kind != yaml.MappingNode {
		p.errorf(pm, "params must be a mapping of name to {description, default}")
		return
	}
	for i := 0; i+1 < len(pm.Content); i += 2 {
		k := pm.Content[i]
		if !validParamName(k.Value) {
			p.errorf(k, "param name %q: use lower-case letters, digits and '_'", k.Value)
			continue
		}
		fm := p.mapping(pm.Content[i+1], "param "+k.Value, "description", "default")
		var prm Param
		if d, ok := fm["description"]; ok {
			prm.Description = p.str(d, "description")
		}
		if d, ok := fm["default"]; ok {
			prm.Default = p.str(d, "default")
		}
		params[k.Value] = prm
	}
}

// flows reads the flows mapping: login and change, and logout or verify
// (a verify flow must sign in).
func (p *parser) flows(f field) Flows {
	var fl Flows
	fm := p.mapping(f.val, "flows", FlowLogin, FlowChange, FlowLogout, FlowVerify)
	for _, name := range []string{FlowLogin, FlowChange} {
		if _, ok := fm[name]; !ok {
			p.errorf(f.val, "flows has no %s flow", name)
		}
	}
	if x, ok := fm[FlowLogin]; ok {
		fl.Login = p.flow(x.val, FlowLogin)
	}
	if x, ok := fm[FlowChange]; ok {
		fl.Change = p.flow(x.val, FlowChange)
	}
	if x, ok := fm[FlowLogout]; ok {
		fl.Logout = p.flow(x.val, FlowLogout)
	}
	if x, ok := fm[FlowVerify]; ok {
		fl.Verify = p.flow(x.val, FlowVerify)
		if len(fl.Verify) > 0 && !SignsIn(fl.Verify) {
			p.errorf(x.key, "verify flow does not sign in: it must fill {{ new_password }} (or {{ password }}, which is the new password there) outside any if, then click or press to submit, then expect or wait_for the signed-in page; a confirmation message alone does not show that the new password works. Or remove the verify flow: rotator then runs the logout flow and the login flow with the new password")
		}
	}
	_, hasLogout := fm[FlowLogout]
	_, hasVerify := fm[FlowVerify]
	if !hasLogout && !hasVerify {
		p.errorf(f.val, "flows needs a logout flow or a verify flow: by default a change is verified by logging out and signing in with the new password")
	}
	return fl
}

// origins reads the origins list: http or https origins, no paths.
func (p *parser) origins(n *yaml.Node) []string {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "origins must be a list of origins like [https://login.example.com]")
		return nil
	}
	var out []string
	for _, item := range n.Content {
		item = resolveAlias(item)
		if item.Kind != yaml.ScalarNode {
			p.errorf(item, "an origin must be a string like https://login.example.com")
			continue
		}
		o, err := parseOrigin(item.Value)
		if err != nil {
			p.errorf(item, "%v", err)
			continue
		}
		out = append(out, o)
	}
	return out
}

// ValidateProxy checks a proxy URL.
func ValidateProxy(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("proxy %q must be a URL like http://host:port or socks5://host:port", s)
	}
	switch u.Scheme {
	case "http", "https", "socks4", "socks5":
	default:
		return fmt.Errorf("proxy %q: scheme must be http, https, socks4 or socks5", s)
	}
	if u.User != nil {
		return fmt.Errorf("proxy URL must not carry credentials")
	}
	return nil
}

func (p *parser) challenges(n *yaml.Node) []Challenge {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "challenges must be a list")
		return nil
	}
	var out []Challenge
	seen := map[string]int{}
	for _, item := range n.Content {
		m := p.mapping(item, "challenge", "name", "kind", "selector", "url", "url_re", "text")
		c := Challenge{Line: item.Line, Column: item.Column}
		if f, ok := m["name"]; ok {
			c.Name = p.str(f, "challenge name")
			if prev, dup := seen[c.Name]; dup {
				p.errorf(f.val, "challenge %q defined twice (first on line %d)", c.Name, prev)
			}
			seen[c.Name] = f.val.Line
		} else {
			p.errorf(item, "challenge has no name")
		}
		if f, ok := m["kind"]; ok {
			c.Kind = ChallengeKind(p.str(f, "challenge kind"))
			if !c.Kind.valid() {
				p.errorf(f.val, "challenge kind %q: want captcha, trust_browser, verification or blocked", c.Kind)
			}
		} else {
			p.errorf(item, "challenge has no kind (captcha, trust_browser, verification or blocked)")
		}
		c.Matcher = p.matcher(item, "challenge", m)
		out = append(out, c)
	}
	return out
}

func (p *parser) matcher(n *yaml.Node, what string, m map[string]field) Matcher {
	var mt Matcher
	if f, ok := m["selector"]; ok {
		mt.Selector = p.selector(f.val)
	}
	if f, ok := m["url"]; ok {
		mt.URL = p.str(f, what+" url")
	}
	if f, ok := m["url_re"]; ok {
		mt.URLRegex = p.regexp(f)
	}
	if f, ok := m["text"]; ok {
		mt.Text = p.str(f, what+" text")
	}
	if mt.IsZero() && len(m) > 0 {
		p.errorf(n, "%s matches nothing: give a selector, url, url_re or text", what)
	}
	return mt
}

func (p *parser) matchers(n *yaml.Node, what string) []Matcher {
	seq := resolveAlias(n)
	if seq.Kind != yaml.SequenceNode {
		p.errorf(seq, "%ss must be a list", what)
		return nil
	}
	var out []Matcher
	for _, item := range seq.Content {
		out = append(out, p.matcher(item, what, p.mapping(item, what, "selector", "url", "url_re", "text")))
	}
	return out
}

func (p *parser) regexp(f field) *regexp.Regexp {
	s := p.str(f, "url_re")
	re, err := regexp.Compile(s)
	if err != nil {
		p.errorf(f.val, "url_re %q: %v", s, err)
		return nil
	}
	return re
}

func (p *parser) selector(n *yaml.Node) *Selector {
	n = resolveAlias(n)
	var raws []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		raws = []*yaml.Node{n}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.errorf(n, "selector list is empty")
		}
		raws = n.Content
	default:
		p.errorf(n, "selector must be a string or a list of alternatives")
		return nil
	}
	sel := &Selector{}
	for _, r := range raws {
		if r.Kind != yaml.ScalarNode {
			p.errorf(r, "selector alternative must be a string")
			continue
		}
		a, err := ParseAlternative(r.Value)
		if err != nil {
			p.errorf(r, "%v", err)
			continue
		}
		sel.Alternatives = append(sel.Alternatives, a)
	}
	return sel
}

// flowVars are the variables each flow may use.
var flowVars = map[string][]string{
	FlowLogin:  {VarUsername, VarPassword, VarTOTP},
	FlowChange: {VarUsername, VarPassword, VarNewPassword, VarTOTP},
	FlowLogout: {VarUsername},
	FlowVerify: {VarUsername, VarPassword, VarNewPassword, VarTOTP},
}

func (p *parser) flow(n *yaml.Node, flow string) []Step {
	steps := p.steps(n, flow)
	if steps == nil {
		steps = []Step{}
	}
	if len(steps) == 0 {
		p.errorf(n, "%s flow has no steps", flow)
		return steps
	}
	if flow == FlowLogin || flow == FlowChange || flow == FlowVerify {
		if !hasCheck(steps) {
			p.warnf(n, "%s flow has no expect or wait_for step: a failure on the site would go unnoticed", flow)
		}
	}
	return steps
}

func hasCheck(steps []Step) bool {
	for _, s := range steps {
		switch s.Kind {
		case StepExpect, StepWaitFor:
			return true
		case StepIf:
			if hasCheck(s.Then) && hasCheck(s.Else) {
				return true
			}
		case StepFrame:
			if hasCheck(s.Steps) {
				return true
			}
		}
	}
	return false
}

// stepKeys lists, per kind, the keys a step may have besides its kind key
// and the common name and timeout.
var stepKeys = map[StepKind][]string{
	StepGoto:       nil,
	StepFill:       {"value", "keys"},
	StepClick:      {"js"},
	StepSelect:     {"option"},
	StepCheck:      {"checked"},
	StepPress:      {"on"},
	StepWaitFor:    nil,
	StepExpect:     {"message"},
	StepIf:         {"then", "else"},
	StepFrame:      {"steps"},
	StepTOTP:       {"keys"},
	StepScreenshot: nil,
	StepSleep:      nil,
	StepEval:       nil,
	StepLog:        nil,
	StepProp:       {"property", "value"},
}

var stepKindOrder = []StepKind{StepGoto, StepFill, StepClick, StepSelect, StepCheck, StepPress, StepWaitFor,
	StepExpect, StepIf, StepFrame, StepTOTP, StepScreenshot, StepSleep, StepEval, StepLog, StepProp}

func kindNames() string {
	names := make([]string, len(stepKindOrder))
	for i, k := range stepKindOrder {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (p *parser) steps(n *yaml.Node, flow string) []Step {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "a list of steps is expected here")
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		p.errorf(n, "steps nested more than %d deep", maxDepth)
		return nil
	}
	out := []Step{}
	for _, item := range n.Content {
		p.nSteps++
		if p.nSteps > maxSteps {
			if p.nSteps == maxSteps+1 {
				p.errorf(item, "more than %d steps in the template", maxSteps)
			}
			return out
		}
		if s, ok := p.step(resolveAlias(item), flow); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) step(n *yaml.Node, flow string) (Step, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "a step must be a mapping like {click: \"#submit\"}")
		return Step{}, false
	}
	kind, ok := p.stepKind(n)
	if !ok {
		return Step{}, false
	}
	allowed := append([]string{string(kind), "name", "timeout"}, stepKeys[kind]...)
	m := p.mapping(n, string(kind)+" step", allowed...)
	s := Step{Kind: kind, Line: n.Line, Column: n.Column}
	if f, ok := m["name"]; ok {
		s.Label = p.str(f, "step name")
	}
	if f, ok := m["timeout"]; ok {
		s.Timeout = p.duration(f, "step timeout")
	}
	main := m[string(kind)]
	switch kind {
	case StepGoto:
		p.gotoStep(&s, main, flow)
	case StepFill:
		p.fillStep(&s, main, m, flow)
	case StepClick:
		s.Target = p.selector(main.val)
		if f, ok := m["js"]; ok {
			s.JS = p.boolean(f, "js")
		}
	case StepSelect:
		s.Target = p.selector(main.val)
		if f, ok := m["option"]; ok {
			s.Value = p.text(f.val, p.str(f, "option"), flow, "option", false)
		} else {
			p.errorf(main.key, "select needs an option (its visible text or value)")
		}
	case StepCheck:
		s.Target = p.selector(main.val)
		s.Checked = true
		if f, ok := m["checked"]; ok {
			s.Checked = p.boolean(f, "checked")
		}
	case StepPress:
		p.pressStep(&s, main, m)
	case StepWaitFor, StepExpect, StepIf:
		p.conditionStep(&s, main, m, flow)
	case StepFrame:
		p.frameStep(&s, main, m, flow)
	case StepTOTP:
		p.totpStep(&s, main, m, flow)
	case StepScreenshot:
		s.Text = p.text(main.val, p.str(main, "screenshot"), flow, "screenshot name", false)
	case StepSleep:
		s.Duration = p.duration(main, "sleep")
		p.warnf(main.key, "sleep %s: a fixed wait is slow when the site is fast and flaky when it is slow; prefer wait_for", main.val.Value)
	case StepEval:
		s.Script = p.str(main, "eval")
		if strings.Contains(s.Script, "{{") {
			p.errorf(main.val, "eval scripts take no {{ }} substitutions; read values from the page instead")
		}
	case StepLog:
		s.Text = p.text(main.val, p.str(main, "log"), flow, "log message", false)
	case StepProp:
		p.propStep(&s, main, m, flow)
	}
	return s, true
}

// stepKind finds a step's kind: the one key of the step mapping n that
// names a kind.
func (p *parser) stepKind(n *yaml.Node) (StepKind, bool) {
	var kindKeys []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if _, ok := stepKeys[StepKind(n.Content[i].Value)]; ok {
			kindKeys = append(kindKeys, n.Content[i])
		}
	}
	switch len(kindKeys) {
	case 0:
		if len(n.Content) == 0 {
			p.errorf(n, "empty step (want one of %s)", kindNames())
			return "", false
		}
		keys := []string{}
		for i := 0; i < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
		p.errorf(n, "step has no kind (keys: %s; want one of %s)", strings.Join(keys, ", "), kindNames())
		return "", false
	case 1:
	default:
		p.errorf(kindKeys[1], "step has two kinds, %s and %s: split it into two steps", kindKeys[0].Value, kindKeys[1].Value)
		return "", false
	}
	return StepKind(kindKeys[0].Value), true
}

// gotoStep reads a goto step's URL: absolute http or https, a path, or
// the change-password page.
func (p *parser) gotoStep(s *Step, main field, flow string) {
	raw := p.str(main, "goto")
	s.URL = p.text(main.val, raw, flow, "goto URL", false)
	if raw != ChangePasswordPage && s.URL.Raw != "" {
		// A variable ({{ param.host }}) may stand for any part, the
		// host too: the URL is checked with a stand-in for each.
		standIn, _ := s.URL.Expand(func(string) (string, error) { return "var", nil })
		if u, err := url.Parse(standIn); err != nil {
			p.errorf(main.val, "goto %q is not a URL", raw)
		} else if !u.IsAbs() && !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "./") && !strings.HasPrefix(raw, "?") {
			p.errorf(main.val, "goto %q: want an absolute URL, a path starting with '/', or %s", raw, ChangePasswordPage)
		} else if scheme, _, _ := strings.Cut(raw, ":"); u.IsAbs() && !strings.Contains(scheme, "{{") {
			// A variable in the scheme is checked when the flow runs.
			if err := weburl.CheckScheme(u); err != nil {
				p.errorf(main.val, "goto %q: %v", raw, err)
			}
		}
	}
}

// fillStep reads a fill step's value and keys.
func (p *parser) fillStep(s *Step, main field, m map[string]field, flow string) {
	s.Target = p.selector(main.val)
	if f, ok := m["value"]; ok {
		s.Value = p.text(f.val, p.str(f, "value"), flow, "value", true)
	} else {
		p.errorf(main.key, "fill needs a value, like value: \"{{ username }}\"")
	}
	if f, ok := m["keys"]; ok {
		s.Keys = p.boolean(f, "keys")
	}
}

// pressStep reads a press step's key and the element it is pressed on.
func (p *parser) pressStep(s *Step, main field, m map[string]field) {
	s.Key = p.str(main, "press")
	if !ValidKey(s.Key) {
		p.errorf(main.val, "press %q: not a key name (%s) or one printable ASCII character", s.Key, strings.Join(KeyNames, ", "))
	}
	if f, ok := m["on"]; ok {
		s.Target = p.selector(f.val)
	}
}

// totpStep reads a totp step's field and keys; the flow must be one that
// may type a TOTP code.
func (p *parser) totpStep(s *Step, main field, m map[string]field, flow string) {
	s.Target = p.selector(main.val)
	if !contains(flowVars[flow], VarTOTP) {
		p.errorf(main.key, "a TOTP code cannot be used in the %s flow", flow)
	}
	if f, ok := m["keys"]; ok {
		s.Keys = p.boolean(f, "keys")
	}
}

// conditionStep reads the condition of a wait_for, expect or if step,
// an expect's message and an if's branches.
func (p *parser) conditionStep(s *Step, main field, m map[string]field, flow string) {
	s.Cond = p.condition(main.val, s.Kind)
	if s.Kind == StepExpect {
		if f, ok := m["message"]; ok {
			s.Message = p.str(f, "message")
		}
	}
	if s.Kind == StepIf {
		if f, ok := m["then"]; ok {
			s.Then = p.steps(f.val, flow)
			if len(s.Then) == 0 {
				p.errorf(f.val, "then has no steps")
			}
		} else {
			p.errorf(main.key, "if needs then: (and optionally else:)")
		}
		if f, ok := m["else"]; ok {
			s.Else = p.steps(f.val, flow)
		}
	}
}

// frameStep reads a frame step's frame and nested steps.
func (p *parser) frameStep(s *Step, main field, m map[string]field, flow string) {
	s.Target = p.selector(main.val)
	if f, ok := m["steps"]; ok {
		s.Steps = p.steps(f.val, flow)
		if len(s.Steps) == 0 {
			p.errorf(f.val, "frame has no steps")
		}
	} else {
		p.errorf(main.key, "frame needs steps: to run inside the frame")
	}
}

// propStep reads a prop step's property and value.
func (p *parser) propStep(s *Step, main field, m map[string]field, flow string) {
	s.Target = p.selector(main.val)
	if f, ok := m["property"]; ok {
		s.Property = p.str(f, "property")
		if !validProperty(s.Property) {
			p.errorf(f.val, "property %q is not a DOM property name", s.Property)
		}
	} else {
		p.errorf(main.key, "prop needs property: (like disabled) and value:")
	}
	if f, ok := m["value"]; ok {
		s.Value = p.text(f.val, f.val.Value, flow, "value", false)
	} else {
		p.errorf(main.key, "prop needs value:")
	}
}

// text parses a substitution string and checks its variables against the
// flow; secretOK says whether secret variables may appear.
func (p *parser) text(n *yaml.Node, raw, flow, what string, secretOK bool) Text {
	t, err := ParseText(raw)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return t
	}
	for _, v := range t.Vars() {
		switch {
		case strings.HasPrefix(v, paramPrefix):
			if _, ok := p.params[strings.TrimPrefix(v, paramPrefix)]; !ok {
				p.errorf(n, "%s: {{ %s }}: no such param (declared: %s)", what, v, strings.Join(sortedKeys(p.params), ", "))
			}
		case IsSecretVar(v) && !secretOK:
			p.errorf(n, "%s: {{ %s }} is a secret and may not appear in a %s", what, v, what)
		case !contains(flowVars[flow], v):
			p.errorf(n, "%s: {{ %s }} is not available in the %s flow (available: %s)", what, v, flow, strings.Join(flowVars[flow], ", "))
		}
	}
	return t
}

func (p *parser) condition(n *yaml.Node, kind StepKind) Condition {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && kind != StepIf {
		// Shorthand: wait_for: "#home" waits for a visible element.
		return Condition{Kind: CondVisible, Selector: p.selector(n)}
	}
	keys := []string{string(CondVisible), string(CondHidden), string(CondExists), string(CondURL), string(CondURLRe), string(CondText)}
	m := p.mapping(n, string(kind)+" condition", keys...)
	if len(m) != 1 {
		if n.Kind == yaml.MappingNode {
			p.errorf(n, "%s needs exactly one condition: visible, hidden, exists, url, url_re or text", kind)
		}
		return Condition{}
	}
	for k, f := range m {
		c := Condition{Kind: CondKind(k)}
		switch c.Kind {
		case CondVisible, CondHidden, CondExists:
			c.Selector = p.selector(f.val)
		case CondURL, CondText:
			c.Pattern = p.str(f, k)
			if c.Pattern == "" {
				p.errorf(f.val, "%s is empty", k)
			}
		case CondURLRe:
			c.Pattern = p.str(f, k)
			c.Regexp = p.regexp(f)
		}
		return c
	}
	return Condition{}
}

// KeyNames are the named keys a press step may send. They and
// ValidKey are the one key table: the browser maps exactly these (a test
// there checks it).
var KeyNames = []string{"Enter", "Tab", "Escape", "Backspace", "Delete", "Space", "ArrowUp", "ArrowDown",
	"ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"}

// ValidKey reports whether a press step may send k: a named key, or one
// printable ASCII character (what a keyboard layout-free press can type).
func ValidKey(k string) bool {
	return slices.Contains(KeyNames, k) || len(k) == 1 && k[0] >= 0x20 && k[0] <= 0x7e
}
