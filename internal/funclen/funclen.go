// Package funclen finds functions longer than a limit in Go source, for
// the test that keeps the repository's product code in small functions.
package funclen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
)

// Long lists, as "path:line name (N lines)", every function and function
// literal in the non-test Go files under root longer than max lines, from
// its func keyword to its closing brace. testdata and hidden folders are
// skipped.
func Long(root string, max int) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			name := ""
			switch fn := n.(type) {
			case *ast.FuncDecl:
				if fn.Body == nil {
					return true
				}
				name = fn.Name.Name
			case *ast.FuncLit:
				name = "func literal"
			default:
				return true
			}
			start, end := fset.Position(n.Pos()), fset.Position(n.End())
			if l := end.Line - start.Line + 1; l > max {
				out = append(out, fmt.Sprintf("%s:%d %s (%d lines)", p, start.Line, name, l))
			}
			return true
		})
		return nil
	})
	return out, err
}
