package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/trigger/template"
)

// CheckUTF8 reports where a JSON or YAML document holds bytes that are
// not UTF-8, one Problem per string (key or value) by its field path, in a
// *ValidationError; nil if the document is valid UTF-8.
//
// encoding/json silently rewrites such bytes to U+FFFD, and yaml.v3
// refuses the whole document without saying where: either way a name or
// a message would not be what its author wrote. Definitions are therefore
// refused, with the place to fix, before they are decoded.
func CheckUTF8(doc []byte) error {
	var list []Problem
	if checkUTF8(doc, problems{list: &list}) {
		return nil
	}
	return &ValidationError{Problems: list}
}

// checkUTF8 adds the problems of CheckUTF8 to p and reports whether data
// is valid UTF-8.
func checkUTF8(data []byte, p problems) bool {
	if utf8.Valid(data) {
		return true
	}
	first := firstInvalid(data)
	// Each invalid sequence is replaced with a marker that is valid UTF-8
	// and absent from the document, so that the document decodes and the
	// strings holding the marker can be named.
	marker := "\U0010FFFD"
	for bytes.Contains(data, []byte(marker)) {
		marker += "\U0010FFFC"
	}
	var marked bytes.Buffer
	for b := data; len(b) > 0; {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			marked.WriteString(marker)
		} else {
			marked.Write(b[:n])
		}
		b = b[n:]
	}
	reason := fmt.Sprintf("is not valid UTF-8 (byte 0x%02x at offset %d): text must be UTF-8; send binary data base64-encoded", data[first], first)
	var v any
	dec := json.NewDecoder(bytes.NewReader(marked.Bytes()))
	if dec.Decode(&v) != nil && yaml.Unmarshal(marked.Bytes(), &v) != nil {
		// Outside any string: the document does not parse either way.
		p.add("", "document %s", reason)
		return false
	}
	before := len(*p.list)
	markedFields(v, "", marker, func(field string) { p.add(field, "%s", reason) })
	if len(*p.list) == before {
		p.add("", "document %s", reason)
	}
	return false
}

func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

// markedFields calls found with the path of every key or string value of
// v that holds marker.
func markedFields(v any, field, marker string, found func(string)) {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, marker) {
			found(field)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f := template.JoinField(field, strings.ReplaceAll(k, marker, "\uFFFD"))
			if strings.Contains(k, marker) {
				found(f)
			}
			markedFields(x[k], f, marker, found)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = e
		}
		markedFields(m, field, marker, found)
	case []any:
		for i, e := range x {
			markedFields(e, fmt.Sprintf("%s[%d]", field, i), marker, found)
		}
	}
}
