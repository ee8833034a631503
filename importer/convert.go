package importer

import (
	"path/filepath"
	"strings"
)

// Converter is the converter of a source format: "segura" (Segura) or
// "recorder" (Recorder); nil for any other.
func Converter(from string) func(name string, src []byte) (*Result, error) {
	switch from {
	case "segura":
		return Segura
	case "recorder":
		return Recorder
	}
	return nil
}

// NameOf is the template name a source file gives when none is asked
// for: its base name up to the first dot.
func NameOf(file string) string {
	name, _, _ := strings.Cut(filepath.Base(file), ".")
	return name
}
