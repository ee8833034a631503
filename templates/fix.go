package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// selectorKeys are the step keys whose value is the step's selector, and
// conditionKeys those whose value is a condition that may hold one
// (visible, hidden or exists).
var (
	selectorKeys  = []string{"fill", "click", "select", "check", "totp", "prop", "frame", "press"}
	conditionKeys = []string{"expect", "wait_for", "if"}
)

// PrependSelector returns src with sel added as the first alternative of
// the selector of the step at line:col (as Step.Line and Step.Column give
// it). Everything else in the file stays byte for byte as it was: its
// comments, its blank lines, its quoting. yaml.v3's node tree finds the
// selector; the edit is made in the text, so that re-encoding the tree
// does not reformat the file.
func PrependSelector(src []byte, line, col int, sel string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	step := findMapping(&doc, line, col)
	if step == nil {
		return nil, fmt.Errorf("no step at %d:%d", line, col)
	}
	val := selectorNode(step)
	if val == nil {
		return nil, fmt.Errorf("the step at %d:%d has no selector", line, col)
	}
	quoted, err := json.Marshal(sel) // a JSON string is a YAML double-quoted scalar
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	switch {
	case val.Kind == yaml.ScalarNode:
		return replaceScalar(lines, val, string(quoted))
	case val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle != 0:
		return insertInFlow(lines, val, string(quoted))
	case val.Kind == yaml.SequenceNode && len(val.Content) > 0:
		return insertInBlock(lines, val, string(quoted))
	}
	return nil, fmt.Errorf("the selector at %d:%d is neither a string nor a list", val.Line, val.Column)
}

// findMapping finds the mapping node that starts at line:col.
func findMapping(n *yaml.Node, line, col int) *yaml.Node {
	if n.Kind == yaml.MappingNode && n.Line == line && n.Column == col {
		return n
	}
	for _, c := range n.Content {
		if m := findMapping(c, line, col); m != nil {
			return m
		}
	}
	return nil
}

// selectorNode is the node of a step's selector: the value of its kind
// key, or of the selector key of its condition.
func selectorNode(step *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(step.Content); i += 2 {
		key, val := step.Content[i].Value, step.Content[i+1]
		switch {
		case slices.Contains(selectorKeys, key):
			if key == "press" {
				continue // a press's key; its field is under "on"
			}
			return val
		case key == "on":
			return val
		case slices.Contains(conditionKeys, key) && val.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(val.Content); j += 2 {
				if k := val.Content[j].Value; k == "visible" || k == "hidden" || k == "exists" {
					return val.Content[j+1]
				}
			}
		}
	}
	return nil
}

// replaceScalar makes the scalar val a flow list of sel and itself.
func replaceScalar(lines [][]byte, val *yaml.Node, sel string) ([]byte, error) {
	text, start, err := lineAt(lines, val)
	if err != nil {
		return nil, err
	}
	end, err := scalarEnd(text, start, val)
	if err != nil {
		return nil, fmt.Errorf("the selector at %d:%d: %w", val.Line, val.Column, err)
	}
	orig := text[start:end]
	if val.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		// A plain scalar may hold what a flow list reads as its own
		// syntax ([, ], a comma): quoted, it means what it meant.
		q, err := json.Marshal(val.Value)
		if err != nil {
			return nil, err
		}
		orig = string(q)
	}
	edited := text[:start] + "[" + sel + ", " + orig + "]" + text[end:]
	return join(lines, val.Line, edited), nil
}

// insertInFlow puts sel first in the flow list val ("[a, b]").
func insertInFlow(lines [][]byte, val *yaml.Node, sel string) ([]byte, error) {
	text, start, err := lineAt(lines, val)
	if err != nil {
		return nil, err
	}
	if text[start] != '[' {
		return nil, fmt.Errorf("the list at %d:%d does not start with [", val.Line, val.Column)
	}
	sep := ", "
	if len(val.Content) == 0 {
		sep = ""
	}
	edited := text[:start+1] + sel + sep + text[start+1:]
	return join(lines, val.Line, edited), nil
}

// insertInBlock puts sel first in the block list val, on a line of its own
// indented as the first item.
func insertInBlock(lines [][]byte, val *yaml.Node, sel string) ([]byte, error) {
	first := val.Content[0]
	text, start, err := lineAt(lines, first)
	if err != nil {
		return nil, err
	}
	dash := strings.LastIndex(text[:start], "-")
	if dash < 0 || strings.TrimSpace(text[:dash]) != "" {
		return nil, fmt.Errorf("the list item at %d:%d is not on a line of its own", first.Line, first.Column)
	}
	item := text[:start] + sel + "\n"
	out := append([][]byte{}, lines[:first.Line-1]...)
	out = append(out, []byte(item))
	return bytes.Join(append(out, lines[first.Line-1:]...), nil), nil
}

// lineAt returns the line of n and n's byte offset in it.
func lineAt(lines [][]byte, n *yaml.Node) (string, int, error) {
	if n.Line < 1 || n.Line > len(lines) {
		return "", 0, fmt.Errorf("line %d is not in the file", n.Line)
	}
	text := string(lines[n.Line-1])
	// yaml.v3 counts columns in characters.
	start, col := 0, 1
	for i := range text {
		if col == n.Column {
			start = i
			break
		}
		col++
	}
	if col != n.Column {
		return "", 0, fmt.Errorf("column %d is not on line %d", n.Column, n.Line)
	}
	return text, start, nil
}

// scalarEnd is the offset just past the scalar val, which starts at start.
func scalarEnd(text string, start int, val *yaml.Node) (int, error) {
	switch style := val.Style; {
	case style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(text); i++ {
			switch text[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
	case style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(text); i++ {
			if text[i] == '\'' {
				if i+1 < len(text) && text[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
	case style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, fmt.Errorf("a block scalar: add the alternative by hand")
	default:
		// A plain scalar on one line is written as its value.
		if strings.HasPrefix(text[start:], val.Value) {
			return start + len(val.Value), nil
		}
		return 0, fmt.Errorf("a plain string that goes on past its line: add the alternative by hand")
	}
	return 0, fmt.Errorf("a quoted string that goes on past its line: add the alternative by hand")
}

// join replaces line n (from 1) with text.
func join(lines [][]byte, n int, text string) []byte {
	out := append([][]byte{}, lines[:n-1]...)
	out = append(out, []byte(text))
	return bytes.Join(append(out, lines[n:]...), nil)
}
