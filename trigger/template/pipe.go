package template

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Func is one function of a placeholder pipeline:
// {{ record.email | lower | urlencode }}.
type Func struct {
	name string
	arg  any
	fn   func(v, arg any) (any, error)
}

func (f Func) apply(v any) (any, error) { return f.fn(v, f.arg) }

// templateFuncs are the documented template functions. The set is small
// on purpose: templates are not a programming language.
var templateFuncs = map[string]struct {
	args int
	fn   func(v, arg any) (any, error)
}{
	// urlencode escapes a value for a URL query or path segment.
	"urlencode": {0, func(v, _ any) (any, error) {
		s, err := Text(v)
		return url.QueryEscape(s), err
	}},
	// json renders the value as JSON text (null for a missing value).
	"json": {0, func(v, _ any) (any, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}},
	// default replaces null or "" with its argument.
	"default": {1, func(v, arg any) (any, error) {
		if v == nil || v == "" {
			return arg, nil
		}
		return v, nil
	}},
	"upper": {0, func(v, _ any) (any, error) {
		if v == nil {
			return nil, nil
		}
		s, err := Text(v)
		return strings.ToUpper(s), err
	}},
	"lower": {0, func(v, _ any) (any, error) {
		if v == nil {
			return nil, nil
		}
		s, err := Text(v)
		return strings.ToLower(s), err
	}},
	// trim removes leading and trailing white space (null stays null):
	// form input often carries it, and a before-trigger normalising an
	// email or a code needs it before any comparison.
	"trim": {0, func(v, _ any) (any, error) {
		if v == nil {
			return nil, nil
		}
		s, err := Text(v)
		return strings.TrimSpace(s), err
	}},
}

// Functions lists the template functions, sorted.
func Functions() []string { return sortedKeys(templateFuncs) }

// ParsePipeline splits "path | fn | fn arg" (respecting quotes) and parses
// the path and the functions. An argument is a quoted string ("x" or 'x'),
// a number, true, false or null.
func ParsePipeline(expr string) (Path, []Func, error) {
	parts := splitPipes(expr)
	pt, err := ParsePath(strings.TrimSpace(parts[0]))
	if err != nil {
		return pt, nil, err
	}
	var fns []Func
	for _, part := range parts[1:] {
		part = strings.TrimSpace(part)
		name, rest, _ := strings.Cut(part, " ")
		rest = strings.TrimSpace(rest)
		spec, ok := templateFuncs[name]
		switch {
		case name == "":
			return pt, nil, fmt.Errorf("empty function after '|'")
		case !ok:
			return pt, nil, fmt.Errorf("unknown function %q (want one of %s)", name, strings.Join(Functions(), ", "))
		case spec.args == 0 && rest != "":
			return pt, nil, fmt.Errorf("%s takes no argument", name)
		case spec.args == 1 && rest == "":
			return pt, nil, fmt.Errorf("%s needs an argument, e.g. %s \"x\"", name, name)
		}
		f := Func{name: name, fn: spec.fn}
		if spec.args == 1 {
			if f.arg, err = parseLiteral(rest); err != nil {
				return pt, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		fns = append(fns, f)
	}
	return pt, fns, nil
}

func hasDefault(fns []Func) bool {
	for _, f := range fns {
		if f.name == "default" {
			return true
		}
	}
	return false
}

func splitPipes(s string) []string {
	var out []string
	var quote byte
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '|':
			out = append(out, s[last:i])
			last = i + 1
		}
	}
	return append(out, s[last:])
}

func parseLiteral(s string) (any, error) {
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("bad string %s", s)
		}
		return v, nil
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return s[1 : len(s)-1], nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case s == "null":
		return nil, nil
	}
	if i, err := strconv.Atoi(s); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("argument %s must be a quoted string, a number, true, false or null", s)
}
