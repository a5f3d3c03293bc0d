package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheck: a function one line over the limit is named with its length; one at the limit,
// and a file at the limit, are not.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	body := func(name string, lines int) string {
		return "func " + name + "() {\n" + strings.Repeat("\t_ = 0\n", lines-2) + "}\n"
	}
	src := "package p\n\n" + body("atLimit", 10) + "\n" + body("over", 11) + "\nfunc (r *T) method() {\n}\n\ntype T struct{}\n"
	path := filepath.Join(dir, "p.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(src, "\n")
	over, err := check(path, lines, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(over) != 1 || !strings.HasSuffix(over[0], "func over: 11 lines") {
		t.Errorf("check = %q, want only func over (11 lines)", over)
	}
	if over, _ := check(path, lines-1, 100); len(over) != 1 || !strings.HasSuffix(over[0], ": "+strconv.Itoa(lines)+" lines") {
		t.Errorf("check with a file limit one under its length = %q", over)
	}
}
