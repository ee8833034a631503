// Package strictyaml decodes YAML into Go structs and rejects what the
// structs do not declare: an unknown key anywhere is an error that names the
// file, line and column, and so is a YAML syntax or type error.
//
// yaml.v3's KnownFields stops at the first unknown key and says only the
// line; this package walks the whole document first and reports every
// unknown key, with positions, as a [ErrorList].
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem at a place in a file.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

func (e Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrorList is every problem found in one file, in document order.
type ErrorList []Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Decode reads one YAML document from data into out (a pointer to a struct),
// checking every mapping key against the struct's yaml tags. An empty
// document leaves out unchanged.
func Decode(file string, data []byte, out any) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return ErrorList{FromYAMLError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return ErrorList{{File: file, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document"}}
	}
	return DecodeNode(file, &doc, out)
}

// DecodeNode is Decode for a node already parsed.
func DecodeNode(file string, n *yaml.Node, out any) error {
	var errs ErrorList
	checkKeys(file, n, reflect.TypeOf(out), &errs)
	if len(errs) > 0 {
		return errs
	}
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, fromYAMLMessage(file, m))
			}
			return errs
		}
		return ErrorList{FromYAMLError(file, err)}
	}
	return nil
}

// fromYAMLMessage reads yaml.v3's "yaml: line N: message".
func fromYAMLMessage(file, msg string) Error {
	rest := strings.TrimPrefix(msg, "yaml: ")
	if after, ok := strings.CutPrefix(rest, "line "); ok {
		num, text, found := strings.Cut(after, ": ")
		if line, err := strconv.Atoi(num); found && err == nil && line >= 0 {
			return Error{File: file, Line: line, Msg: text}
		}
	}
	return Error{File: file, Msg: rest}
}

// FromYAMLError turns a yaml.v3 error ("yaml: line 3: ...") into an Error
// with the file and line.
func FromYAMLError(file string, err error) Error { return fromYAMLMessage(file, err.Error()) }

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkKeys walks n alongside t and records every mapping key that t does
// not declare.
func checkKeys(file string, n *yaml.Node, t reflect.Type, errs *ErrorList) {
	if n == nil || t == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkKeys(file, c, t, errs)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		checkKeys(file, n.Alias, t, errs)
		return
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return // a custom unmarshaler checks its own keys
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // yaml.v3 reports the type mismatch
		}
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, Error{File: file, Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("unknown key %q%s", k.Value, suggest(fields))})
				continue
			}
			checkKeys(file, v, ft, errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			checkKeys(file, n.Content[i], t.Elem(), errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			checkKeys(file, c, t.Elem(), errs)
		}
	}
}

// structFields maps YAML key to field type, as yaml.v3 names them: the tag's
// name, else the lower-cased field name; ",inline" structs are merged.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func suggest(fields map[string]reflect.Type) string {
	if len(fields) == 0 {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return " (known keys: " + strings.Join(names, ", ") + ")"
}
