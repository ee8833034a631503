package accountspec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrFormat is an import file format other than yaml and csv.
var ErrFormat = errors.New("unknown import file format")

// FormatOf tells an import file's format from its name's extension: "yaml"
// (.yaml, .yml), "csv" (.csv), or "" when it cannot.
func FormatOf(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return "csv"
	case ".yaml", ".yml":
		return "yaml"
	}
	return ""
}

// Parse reads an import file in format, "yaml" (ParseYAML) or "csv"
// (ParseCSV; its problems come as err), and refuses one without any
// account.
func Parse(file, format string, data []byte) (records []Record, problems []error, err error) {
	switch format {
	case "yaml":
		records, problems, err = ParseYAML(file, data)
	case "csv":
		records, err = ParseCSV(file, data)
	default:
		return nil, nil, fmt.Errorf("%w %q", ErrFormat, format)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(records) == 0 && len(problems) == 0 {
		return nil, nil, fmt.Errorf("%s: no accounts", file)
	}
	return records, problems, nil
}
