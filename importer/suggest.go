package importer

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/internal/weburl"
)

// suggestOrder is the order of a suggested flow's steps, by role: the
// username, the password(s), a code, then the submit; each with its step
// kind and the value it fills.
func suggestOrder() []struct{ role, kind, value string } {
	return []struct{ role, kind, value string }{
		{browser.RoleUsername, "fill", "{{ username }}"},
		{browser.RolePassword, "fill", "{{ password }}"},
		{browser.RoleNewPassword, "fill", "{{ new_password }}"},
		{browser.RoleConfirmPassword, "fill", "{{ new_password }}"},
		{browser.RoleTOTP, "totp", ""},
		{browser.RoleSubmit, "click", ""},
	}
}

// Suggest writes the fields the detector found on page (a URL or a saved
// page's file name) as a template fragment: a login flow, or a
// change flow when there is a new-password field. Each role's best field
// becomes a step, commented with its confidence; a URL page is opened
// first. now dates the fragment's comment.
func Suggest(page string, fields []browser.DetectedField, now time.Time) ([]byte, error) {
	best := map[string]browser.DetectedField{}
	for _, f := range fields {
		if len(f.Selectors) == 0 {
			continue
		}
		if cur, ok := best[f.Role]; !ok || f.Score > cur.Score {
			best[f.Role] = f
		}
	}
	flow := "login"
	if _, ok := best[browser.RoleNewPassword]; ok {
		flow = "change"
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	if weburl.Is(page) {
		seq.Content = append(seq.Content, step{kind: "goto", arg: page}.node())
	}
	for _, o := range suggestOrder() {
		f, ok := best[o.role]
		if !ok {
			continue
		}
		s := step{kind: o.kind, arg: target(f.Selectors), comment: confidence(f)}
		if o.value != "" {
			s.extra = [][2]any{{"value", o.value}}
		}
		seq.Content = append(seq.Content, s.node())
	}
	root := &yaml.Node{Kind: yaml.MappingNode,
		HeadComment: fmt.Sprintf("Suggested by `rotator template suggest %s` on %s.\nCheck every selector (the confidence is in each comment), then put this\nunder flows: in a template and run `rotator template test`.", page, now.UTC().Format("2006-01-02")),
		Content:     []*yaml.Node{{Kind: yaml.ScalarNode, Value: flow}, seq}}
	return Encode(root)
}

// confidence is a suggested step's comment: the field's role, its score
// and what gave it away, and a warning when the score is low.
func confidence(f browser.DetectedField) string {
	c := fmt.Sprintf("%s: confidence %.2f (%s)", strings.ReplaceAll(f.Role, "_", " "), f.Score, f.Why)
	if f.Score < 0.6 {
		c += "; LOW: check it"
	}
	return c
}
