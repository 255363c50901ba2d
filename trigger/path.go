package trigger

import (
	"fmt"
	"strconv"
	"strings"
)

// segment is one step of a path: a map key or a list index.
type segment struct {
	key   string
	index int
	isIdx bool
}

// path is a parsed field reference: root.a.b[0]["odd.key"].
type path struct {
	root string
	segs []segment
	src  string
}

// parsePath parses a dotted path with [n] indexes and ["quoted"] keys.
func parsePath(s string) (path, error) {
	p := path{src: s}
	s = strings.TrimSpace(s)
	if s == "" {
		return p, fmt.Errorf("empty path")
	}
	i := 0
	readIdent := func() string {
		start := i
		for i < len(s) && s[i] != '.' && s[i] != '[' {
			i++
		}
		return s[start:i]
	}
	p.root = readIdent()
	if p.root == "" {
		return p, fmt.Errorf("path %q: missing root name", s)
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			k := readIdent()
			if k == "" {
				return p, fmt.Errorf("path %q: empty name after '.'", s)
			}
			p.segs = append(p.segs, segment{key: k})
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return p, fmt.Errorf("path %q: unclosed '['", s)
			}
			inner := strings.TrimSpace(s[i+1 : i+end])
			i += end + 1
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				p.segs = append(p.segs, segment{key: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return p, fmt.Errorf("path %q: index %q must be a non-negative integer or a quoted key", s, inner)
			}
			p.segs = append(p.segs, segment{index: n, isIdx: true})
		default:
			return p, fmt.Errorf("path %q: unexpected %q", s, s[i])
		}
	}
	return p, nil
}

// walk follows segs from v. A missing key, an index out of range or a step
// into a non-container yields (nil, false): missing fields read as null.
func walk(v any, segs []segment) (any, bool) {
	for _, sg := range segs {
		if sg.isIdx {
			l, ok := v.([]any)
			if !ok || sg.index >= len(l) {
				return nil, false
			}
			v = l[sg.index]
			continue
		}
		switch m := v.(type) {
		case map[string]any:
			x, ok := m[sg.key]
			if !ok {
				return nil, false
			}
			v = x
		default:
			return nil, false
		}
	}
	return v, true
}
