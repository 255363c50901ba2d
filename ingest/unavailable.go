package ingest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/triggerd/triggerd/ingest/connect"
)

// DefaultPlaceholder is Debezium's default unavailable.value.placeholder:
// what the connector sends instead of a value it does not have (a TOAST
// column an update left unchanged, on a table whose replica identity is
// not FULL).
const DefaultPlaceholder = "__debezium_unavailable_value"

// placeholder holds every form the connector gives its placeholder P,
// depending on the column's type (Debezium's UnchangedToastedPlaceholder):
// P itself (text, varchar, json, jsonb, xml, numeric...; bytea in the
// base64 and hex binary modes), P's bytes in base64 (bytea in the default
// bytes mode, which the JsonConverter writes in base64), [P] (arrays of
// text, varchar, char, json, jsonb), [base64(P)] (bytea[]), P's bytes as
// integers (int4[], int8[], date[]), [the name-based UUID of P] (uuid[])
// and {P: P} (hstore, as a map or as its JSON text).
type placeholder struct {
	text, base64, uuid, hstoreJSON string
	ints                           []int64
}

// parsePlaceholder reads a placeholder as the connector's setting is
// written: text, or "hex:" followed by the hexadecimal octets.
func parsePlaceholder(s string) (*placeholder, error) {
	if s == "" {
		s = DefaultPlaceholder
	}
	raw := []byte(s)
	if h, ok := strings.CutPrefix(s, "hex:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("placeholder: %q after hex: is not hexadecimal", h)
		}
		raw = b
	}
	p := &placeholder{text: string(raw), base64: base64.StdEncoding.EncodeToString(raw), uuid: nameUUID(raw)}
	for _, b := range raw {
		// Java bytes are signed: the connector widens them as such.
		p.ints = append(p.ints, int64(int8(b)))
	}
	hs, _ := json.Marshal(map[string]string{p.text: p.text})
	p.hstoreJSON = string(hs)
	return p, nil
}

// nameUUID is java.util.UUID.nameUUIDFromBytes: an MD5, version 3 UUID.
func nameUUID(b []byte) string {
	sum := md5.Sum(b)
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// is reports whether v is the placeholder in a form the connector uses for
// a column of schema s; with a nil s (no schema), in any form.
func (p *placeholder) is(v any, s *connect.Schema) bool {
	switch x := v.(type) {
	case string:
		if s == nil {
			return x == p.text || x == p.base64 || x == p.hstoreJSON
		}
		switch s.Type {
		case connect.TypeBytes:
			return x == p.base64 || x == p.text
		case connect.TypeString:
			return x == p.text || (s.Name == connect.Json && x == p.hstoreJSON)
		}
	case []any:
		if len(x) == 0 {
			return false
		}
		var items *connect.Schema
		if s != nil {
			if s.Type != connect.TypeArray {
				return false
			}
			items = s.Items
		}
		if len(x) == 1 {
			if e, ok := x[0].(string); ok {
				switch {
				case items == nil:
					return e == p.text || e == p.base64 || e == p.uuid
				case items.Type == connect.TypeBytes:
					return e == p.base64
				case items.Type == connect.TypeString:
					return e == p.text || e == p.uuid
				}
			}
		}
		if items != nil && items.Type != connect.TypeInt32 && items.Type != connect.TypeInt64 {
			return false
		}
		return p.isInts(x)
	case map[string]any:
		if len(x) != 1 || (s != nil && s.Type != connect.TypeMap) {
			return false
		}
		e, ok := x[p.text].(string)
		return ok && e == p.text
	}
	return false
}

func (p *placeholder) isInts(l []any) bool {
	if len(l) != len(p.ints) {
		return false
	}
	for i, e := range l {
		n, ok := e.(json.Number)
		if !ok {
			return false
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v != p.ints[i] {
			return false
		}
	}
	return true
}
