package topology

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxNodes bounds the work one file can cause: aliases can make a small file expand
// exponentially ("billion laughs"); a real estate of 1,000 hosts stays far below this.
const maxNodes = 1_000_000

// decoder walks the YAML AST itself, rather than unmarshalling into structs, so that every
// value keeps its position and every problem is collected instead of stopping at the first.
type decoder struct {
	file    string
	errs    ErrorList
	pos     map[string]Pos
	anchors map[string]ast.Node
	// failed holds the paths that already have an error, so that cross-checks do not pile a
	// second, derived complaint onto the same mistake.
	failed map[string]bool
	// broken holds the paths whose whole content is unusable (a failed alias, a merge key, a
	// list where a mapping belongs): nothing under them is cross-checked.
	broken map[string]bool
	budget int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: map[string]Pos{}, anchors: map[string]ast.Node{}, failed: map[string]bool{}, broken: map[string]bool{}, budget: maxNodes}
}

func posOf(n ast.Node) Pos {
	if n == nil {
		return Pos{}
	}
	// A block mapping's own token is its first colon; a reader looks for its first key.
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0] != nil && m.Values[0].Key != nil {
		return posOf(m.Values[0].Key)
	}
	if m, ok := n.(*ast.MappingValueNode); ok && m.Key != nil {
		return posOf(m.Key)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{Line: tk.Position.Line, Col: tk.Position.Column}
}

// errAt records an error at p.
func (d *decoder) errAt(p Pos, path, format string, args ...any) {
	d.failed[path] = true
	msg := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(format, "YAML syntax") {
		// One error, one line (validate prints one per line): a value's own line breaks,
		// quoted raw by a message, are shown escaped.
		msg = strings.ReplaceAll(msg, "\n", `\n`)
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: p.Line, Col: p.Col, Path: path, Msg: msg})
}

// errorf records an error at node n, or at the recorded position of path when n is nil.
func (d *decoder) errorf(n ast.Node, path, format string, args ...any) {
	p := posOf(n)
	if p.Line == 0 {
		p = d.at(path)
	}
	d.errAt(p, path, format, args...)
}

// crossf reports a cross-check error at path unless the field it depends on (or anything
// inside it) already has an error of its own.
func (d *decoder) crossf(field, path, format string, args ...any) {
	for p := field; p != ""; p = parentPath(p) {
		if d.broken[p] {
			return
		}
	}
	for f := range d.failed {
		if f == field || strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[") {
			return
		}
	}
	d.errorf(nil, path, format, args...)
}

// at is the recorded position of path or of its closest recorded parent.
func (d *decoder) at(path string) Pos {
	for path != "" {
		if p, ok := d.pos[path]; ok {
			return p
		}
		path = parentPath(path)
	}
	return Pos{Line: 1, Col: 1}
}

// parentPath strips the last element: "a.b[1].c" -> "a.b[1]" -> "a.b" -> "a" -> "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows anchors, aliases and tags to the value node; nil means "nothing usable"
// (an error has been recorded when that is the file's fault).
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
	for hops := 0; n != nil; hops++ {
		d.budget--
		if d.budget == 0 {
			d.errorf(n, path, "the file expands to more than %d values (aliases nested too deep?); write it out plainly", maxNodes)
		}
		if d.budget <= 0 || hops > 16 {
			return nil
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil && v.Name.GetToken() != nil {
				d.anchors[v.Name.GetToken().Value] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil && v.Value.GetToken() != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(n, path, "alias *%s refers to no anchor defined before it", name)
				d.broken[path] = true
				return nil
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	return nil
}

func isScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.NullNode, nil:
		return false
	}
	return true
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "empty"
	}
	return "a single value"
}

// field is one key of a mapping, resolved.
type field struct {
	key  string
	keyN ast.Node
	val  ast.Node // resolved; nil when empty or unusable
	path string
}

// mapping returns the entries of the mapping at n in file order. allowed lists the keys the
// mapping may have (nil: any key, for maps keyed by user names); unknown keys are errors that
// name the allowed ones. An empty value is an empty mapping.
func (d *decoder) mapping(n ast.Node, path string, allowed []string) []field {
	n = d.resolve(n, path)
	var entries []*ast.MappingValueNode
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.MappingNode:
		entries = v.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{v}
	default:
		d.errorf(n, path, "must be a mapping of keys (key: value), not %s", kindName(n))
		d.broken[path] = true
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for _, e := range entries {
		if e == nil || e.Key == nil {
			continue
		}
		if e.Key.IsMergeKey() {
			d.errorf(e.Key, path, "merge keys (<<) are not supported; write the keys out")
			d.broken[path] = true
			continue
		}
		kn := d.resolve(e.Key, path)
		if kn == nil || !isScalar(kn) {
			d.errorf(e.Key, path, "a key must be a plain name")
			continue
		}
		key := scalarText(kn)
		p := joinPath(path, key)
		if allowed != nil && !containsString(allowed, key) {
			d.errorf(e.Key, p, "unknown key %q (allowed: %s)", key, strings.Join(allowed, ", "))
			continue
		}
		if seen[key] {
			d.errorf(e.Key, p, "%q is given twice", key)
			continue
		}
		seen[key] = true
		val := d.resolve(e.Value, p)
		// Scalars are pointed at by their value, collections by their key: that is where a
		// reader looks for the mistake.
		if isScalar(val) {
			d.pos[p] = posOf(val)
		} else {
			d.pos[p] = posOf(e.Key)
		}
		if _, isNull := val.(*ast.NullNode); isNull {
			val = nil
		}
		out = append(out, field{key: key, keyN: e.Key, val: val, path: p})
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// seq calls fn for every item of the list at n; an empty value is an empty list.
func (d *decoder) seq(n ast.Node, path string, fn func(i int, item ast.Node, p string)) {
	n = d.resolve(n, path)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return
	case *ast.SequenceNode:
		for i, it := range v.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			item := d.resolve(it, p)
			if item == nil {
				d.pos[p] = posOf(it)
			} else {
				d.pos[p] = posOf(item)
			}
			if _, isNull := item.(*ast.NullNode); isNull {
				item = nil
			}
			fn(i, item, p)
		}
	default:
		d.errorf(n, path, "must be a list ([a, b] or lines starting with -), not %s", kindName(n))
	}
}

func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value
		}
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// str reads a single value as text; ok is false (and an error recorded) otherwise.
func (d *decoder) str(f field) (string, bool) {
	if f.val == nil {
		d.errorf(f.keyN, f.path, "needs a value")
		return "", false
	}
	if !isScalar(f.val) {
		d.errorf(f.val, f.path, "must be a single value, not %s", kindName(f.val))
		return "", false
	}
	return scalarText(f.val), true
}

// strChecked is str with check, which says what is wrong with a value ("" when nothing): a
// wrong value is reported and still returned, so later checks see what the file says.
func (d *decoder) strChecked(f field, check func(string) string) (string, bool) {
	v, ok := d.str(f)
	if ok {
		if msg := check(v); msg != "" {
			d.errorf(f.val, f.path, "%s", msg)
		}
	}
	return v, ok
}

// strItem is str for a list item.
func (d *decoder) strItem(item ast.Node, p string) (string, bool) {
	if item == nil {
		d.errorf(nil, p, "empty list item")
		return "", false
	}
	if !isScalar(item) {
		d.errorf(item, p, "must be a single value, not %s", kindName(item))
		return "", false
	}
	return scalarText(item), true
}

// integer reads a whole number from a value node.
func (d *decoder) integer(n ast.Node, keyN ast.Node, p string) (int, bool) {
	if n == nil {
		d.errorf(keyN, p, "needs a value")
		return 0, false
	}
	if !isScalar(n) {
		d.errorf(n, p, "must be a number, not %s", kindName(n))
		return 0, false
	}
	s := scalarText(n)
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(n, p, "%q is not a whole number", s)
		return 0, false
	}
	return v, true
}

func (d *decoder) intField(f field) (int, bool) { return d.integer(f.val, f.keyN, f.path) }

// intRange reads a whole number and checks lo <= v <= hi.
func (d *decoder) intRange(f field, lo, hi int, what string) (int, bool) {
	v, ok := d.intField(f)
	if !ok {
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(f.val, f.path, "%d is not a valid %s (%d to %d)", v, what, lo, hi)
		return 0, false
	}
	return v, true
}

// enum reads one of names, the index of which it returns; an unknown name is reported as
// "unknown <what> ..." and read as index 0. ok is false only when f holds no single value.
func (d *decoder) enum(f field, names []string, what string) (int, bool) {
	v, ok := d.str(f)
	if !ok {
		return 0, false
	}
	i, known := enumParse(names, v)
	if !known {
		d.errorf(f.val, f.path, "unknown %s %q (use %s)", what, v, enumList(names))
	}
	return i, true
}

func (d *decoder) boolField(f field) (bool, bool) {
	if b, ok := f.val.(*ast.BoolNode); ok {
		return b.Value, true
	}
	if f.val == nil {
		d.errorf(f.keyN, f.path, "needs a value: true or false")
		return false, false
	}
	d.errorf(f.val, f.path, "%s is not true or false", describe(f.val))
	return false, false
}

// describe quotes a scalar for a message, or names the kind of a collection.
func describe(n ast.Node) string {
	if isScalar(n) {
		return strconv.Quote(scalarText(n))
	}
	return kindName(n)
}

// parseFn is a unit parser such as ParseRate.
type parseFn[T any] func(string) (T, error)

// unit reads a value through parse and reports its error at the value.
func unit[T any](d *decoder, f field, parse parseFn[T]) (T, bool) {
	var zero T
	s, ok := d.str(f)
	if !ok {
		return zero, false
	}
	v, err := parse(s)
	if err != nil {
		d.errorf(f.val, f.path, "%v", err)
		return zero, false
	}
	return v, true
}

// parseYAML parses data into an AST document, turning a syntax error into a positioned Error.
func (d *decoder) parseYAML(data []byte) ast.Node {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		p := Pos{Line: 1, Col: 1}
		msg := err.Error()
		var tk *token.Token
		if se, ok := err.(interface {
			GetToken() *token.Token
			GetMessage() string
		}); ok {
			tk = se.GetToken()
			msg = se.GetMessage()
		}
		if tk != nil && tk.Position != nil {
			p = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
		}
		d.errAt(p, "", "YAML syntax: %s", msg)
		return nil
	}
	var docs []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch len(docs) {
	case 0:
		d.errAt(Pos{Line: 1, Col: 1}, "", "the file is empty; start with version: 1 (see docs/topology.md)")
		return nil
	case 1:
		return docs[0].Body
	}
	// Point at the "---" that starts the second document, where the reader can delete it.
	p := posOf(docs[1].Body)
	if st := docs[1].Start; st != nil && st.Position != nil {
		p = Pos{Line: st.Position.Line, Col: st.Position.Column}
	}
	d.errAt(p, "", "the file holds %d YAML documents; a topology file holds one", len(docs))
	return nil
}
