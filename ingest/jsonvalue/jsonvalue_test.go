package jsonvalue_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/ingest/jsonvalue"
)

// std is the reference: encoding/json's Decoder with UseNumber, exactly
// one value.
func std(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

// agree fails t when Parse accepted doc but encoding/json refuses it or
// decodes another value. It reports whether Parse accepted it.
func agree(t *testing.T, doc []byte) bool {
	t.Helper()
	got, ok := jsonvalue.Parse(doc)
	if !ok {
		return false
	}
	want, err := std(doc)
	if err != nil {
		t.Fatalf("Parse accepted %q, which encoding/json refuses: %v", doc, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse(%q) = %#v, encoding/json: %#v", doc, got, want)
	}
	return true
}

// The documents change events are made of take the fast path, with
// encoding/json's values.
func TestParse_Accepts(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `{"a":[]}`, ` {"a" : 1 , "b":[ 1 , 2 ]} ` + "\n",
		`{"id":"e1","table":"public.t","operation":"insert","record":{"id":1,"name":"Ada","ok":true,"no":false,"gone":null}}`,
		`0`, `-0`, `12`, `-12.5e+3`, `1E-7`, `0.000001`, `123456789012345678901234567890`, `3.14159265358979323846264338327950288`,
		`"plain"`, `"héllo wörld ✓"`, `"😀"`,
		`"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`,
		`"lone \ud83d high"`, `"lone \ude00 low"`, `"high then bmp \ud83d\u0041"`, `"\ud83d"`, `"two highs \ud83d\ud83d\ude00"`,
		"\"invalid \xff utf-8\"", "\"truncated \xe2\x82\"", "\"escaped and invalid \\n \xc3\"", "\"\x7f del\"",
		`{"a":1,"a":2}`, `[[[[[]]]]]`, `[{"a":[{"b":null}]}]`, `{"":""}`,
		"\t\r\n true \t", `false`, `null`,
		`{"payload":{"after":{"c_json":"{\"kind\":\"a\",\"n\":1}"}}}`,
	} {
		if !agree(t, []byte(doc)) {
			t.Errorf("Parse does not take %q", doc)
		}
	}
}

// Parse refuses what encoding/json refuses (the caller then gets
// encoding/json's error).
func TestParse_Refuses(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{a:1}`, `{'a':1}`, `{"a":1}}`, `{"a":1} {}`, `1 2`,
		`01`, `-`, `+1`, `.5`, `1.`, `1e`, `1e+`, `0x10`, `NaN`, `Infinity`, `-Infinity`,
		`tru`, `truex`, `nul`, `nulll`, `"open`, `"bad \x escape"`, `"bad \u12 escape"`, `"bad \uZZZZ"`, `"\'"`,
		"\"raw\nnewline\"", "\"raw\x00nul\"", "\xef\xbb\xbf{}", `[1 2]`, `{"a" 1}`, `{"a":1 "b":2}`,
		strings.Repeat("[", jsonvalue.MaxDepth+1) + strings.Repeat("]", jsonvalue.MaxDepth+1),
	} {
		if _, ok := jsonvalue.Parse([]byte(doc)); ok {
			_, err := std([]byte(doc))
			t.Errorf("Parse took %q (encoding/json: %v)", doc, err)
		}
	}
}

func TestParse_GoldenEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "debezium", "*", "*.json"))
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "events", "*.json"))
	files = append(files, examples...)
	if len(files) == 0 {
		t.Fatal("no golden events found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !agree(t, b) {
			t.Errorf("%s: Parse does not take it", f)
		}
	}
}

// FuzzParse: whatever Parse accepts, encoding/json accepts with the same
// value.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"id":"e1","table":"t","operation":"update","record":{"id":1,"n":-1.5e3},"previousRecord":null}`,
		`["a",1,true,null,{"b":[]}]`, `"\ud83d\ude00 \u00e9 \" \\"`, "\"\xff\"", `{"a":1,"a":{"b":2}}`, `-0.0E-0`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { agree(t, doc) })
}

func ExampleParse() {
	v, ok := jsonvalue.Parse([]byte(`{"id": 12345678901234567890, "price": 19.90, "tags": ["a"]}`))
	fmt.Println(ok)
	fmt.Printf("%#v\n", v.(map[string]any)["id"])
	fmt.Printf("%#v\n", v.(map[string]any)["price"])
	// Output:
	// true
	// "12345678901234567890"
	// "19.90"
}
