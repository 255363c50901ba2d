// Package jsonvalue decodes JSON into the values encoding/json's Decoder
// gives with UseNumber (map[string]any, []any, string, json.Number, bool,
// nil), in one pass and with few allocations: change events are decoded
// into such values before triggers match them, and encoding/json's
// separate validation scan, buffer copy and reflection were over half of
// ingest's decode + match (docs/performance.md).
//
// It is a fast path, not a replacement: Parse reports ok=false for every
// document it does not decode (a syntax error, nesting deeper than
// MaxDepth), and the caller then decodes it with encoding/json, whose
// value and error message are the rule. FuzzParse checks that whatever
// Parse accepts, encoding/json accepts with the same value: numbers keep
// their exact text (json.Number), escapes and invalid UTF-8 are unquoted
// as encoding/json unquotes them, a repeated name keeps its last value,
// an empty array is an empty, non-nil slice.
package jsonvalue

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Parse decodes b, one JSON value with nothing but white space around
// it. ok is false when it did not decode b: decode it with encoding/json.
func Parse(b []byte) (v any, ok bool) {
	// One copy of the document, of which every string and number is a
	// substring: one allocation instead of one per value and name.
	return ParseString(string(b))
}

// ParseString is Parse for a document held in a string, which it does
// not copy.
func ParseString(s string) (v any, ok bool) {
	p := parser{b: s}
	p.space()
	v, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	if p.i != len(p.b) {
		return nil, false
	}
	return v, true
}

// MaxDepth bounds the nesting of arrays and objects Parse follows;
// deeper documents are left to encoding/json (whose limit is 10000).
const MaxDepth = 1000

type parser struct {
	b string
	i int
}

// space skips JSON white space.
func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		m, ok := p.object(depth + 1)
		return m, ok
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.string()
		return s, ok
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

// object parses the object at p.i ('{').
func (p *parser) object(depth int) (map[string]any, bool) {
	if depth > MaxDepth {
		return nil, false
	}
	p.i++ // {
	m := make(map[string]any)
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated name: the last value wins, as in encoding/json
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// array parses the array at p.i ('['); an empty one is an empty, non-nil
// slice, as encoding/json makes it.
func (p *parser) array(depth int) (any, bool) {
	if depth > MaxDepth {
		return nil, false
	}
	p.i++ // [
	a := make([]any, 0)
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case ']':
			p.i++
			return a, true
		default:
			return nil, false
		}
	}
}

// string parses the string at p.i ('"'). A string without escapes in
// valid UTF-8 is a substring of the message; the others are unquoted as
// encoding/json unquotes them (unquote).
func (p *parser) string() (string, bool) {
	start := p.i + 1
	plain := true // no escapes, only ASCII
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			p.i = i + 1
			if plain || utf8.ValidString(s) && strings.IndexByte(s, '\\') < 0 {
				return s, true
			}
			return unquote(s)
		case c == '\\':
			plain = false
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false // a control character must be escaped
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return "", false
}

// unquote returns the value of the body s of a JSON string with escapes
// or bytes outside ASCII, as encoding/json's unquoteBytes does: escapes
// resolved (an unpaired surrogate becomes U+FFFD) and invalid UTF-8
// coerced to U+FFFD. It refuses an escape JSON does not have.
func unquote(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			if r+1 >= len(s) {
				return "", false
			}
			switch s[r+1] {
			case '"', '\\', '/':
				b.WriteByte(s[r+1])
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := hex4(s[r+2:])
				if rr < 0 {
					return "", false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if len(s) >= r+2 && s[r] == '\\' && s[r+1] == 'u' {
						rr1 := hex4(s[r+2:])
						if rr1 < 0 {
							return "", false // the next escape is invalid
						}
						if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
							r += 6
							b.WriteRune(dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b.WriteRune(rr)
				continue
			default:
				return "", false
			}
			r += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r++
		default:
			rr, size := utf8.DecodeRuneInString(s[r:])
			r += size
			b.WriteRune(rr) // utf8.RuneError for an invalid byte
		}
	}
	return b.String(), true
}

// hex4 reads the 4 hex digits of a \u escape; -1 when s does not start
// with 4.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number parses the number at p.i, which JSON's grammar must match
// exactly; its value is its text, as json.Number keeps it.
func (p *parser) number() (any, bool) {
	b, i := p.b, p.i
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	p.i = i
	return json.Number(b[start:i]), true
}

// literal consumes word (true, false, null) at p.i.
func (p *parser) literal(word string) bool {
	if len(p.b)-p.i < len(word) || p.b[p.i:p.i+len(word)] != word {
		return false
	}
	p.i += len(word)
	return true
}
