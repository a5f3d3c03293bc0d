// Command sizes enforces the size limits of docs/style (a file past ~600 lines is two ideas, a
// function that needs scrolling is several functions): it lists every Go file under the given
// directories longer than -file lines and every function longer than -func lines, tests
// excluded, and exits 1 when it finds any. make vet runs it on internal/ and cmd/.
//
// A function's length runs from its func keyword to its closing brace, doc comment excluded;
// function literals count toward the function that holds them.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	maxFile := flag.Int("file", 600, "most lines a Go file may have")
	maxFunc := flag.Int("func", 100, "most lines a function may have")
	flag.Parse()
	var found []string
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			over, err := check(path, *maxFile, *maxFunc)
			found = append(found, over...)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizes:", err)
			os.Exit(2)
		}
	}
	if len(found) > 0 {
		sort.Strings(found)
		fmt.Fprintf(os.Stderr, "over the size limits (a file over %d lines is two ideas, a function over %d lines several functions: split them):\n", *maxFile, *maxFunc)
		for _, f := range found {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		os.Exit(1)
	}
}

// check returns what in one file is over the limits, as "path: ..." lines.
func check(path string, maxFile, maxFunc int) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var over []string
	if n := fset.File(f.Pos()).LineCount(); n > maxFile {
		over = append(over, fmt.Sprintf("%s: %d lines", path, n))
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
		if n > maxFunc {
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				name = recvName(fn.Recv.List[0].Type) + "." + name
			}
			over = append(over, fmt.Sprintf("%s:%d: func %s: %d lines", path, fset.Position(fn.Pos()).Line, name, n))
		}
	}
	return over, nil
}

func recvName(t ast.Expr) string {
	switch t := t.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}
