package template

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is one step of a path: a map key or a list index.
type Segment struct {
	Key     string
	Index   int
	IsIndex bool
}

// Path is a parsed field reference: root.a.b[0]["odd.key"].
type Path struct {
	// Root is the first name ("record"), Segs the steps after it, Src
	// the text as written.
	Root string
	Segs []Segment
	Src  string
}

// ParsePath parses a dotted path with [n] indexes and ["quoted"] keys.
func ParsePath(s string) (Path, error) {
	p := Path{Src: s}
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
	p.Root = readIdent()
	if p.Root == "" {
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
			p.Segs = append(p.Segs, Segment{Key: k})
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return p, fmt.Errorf("path %q: unclosed '['", s)
			}
			inner := strings.TrimSpace(s[i+1 : i+end])
			i += end + 1
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				p.Segs = append(p.Segs, Segment{Key: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return p, fmt.Errorf("path %q: index %q must be a non-negative integer or a quoted key", s, inner)
			}
			p.Segs = append(p.Segs, Segment{Index: n, IsIndex: true})
		default:
			return p, fmt.Errorf("path %q: unexpected %q", s, s[i])
		}
	}
	return p, nil
}

// Walk follows segs from v. A missing key, an index out of range or a step
// into a non-container yields (nil, false): missing fields read as null.
func Walk(v any, segs []Segment) (any, bool) {
	for _, sg := range segs {
		if sg.IsIndex {
			l, ok := v.([]any)
			if !ok || sg.Index >= len(l) {
				return nil, false
			}
			v = l[sg.Index]
			continue
		}
		switch m := v.(type) {
		case map[string]any:
			x, ok := m[sg.Key]
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
