package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/triggerd/triggerd/config"
)

// referenceKeys walks the yaml tags of t and returns every key path; a
// named map's entries are written <name> (the reference may use any
// placeholder, <tag>, <target>…). Structs nest; maps of structs (or of
// maps of structs) nest under placeholders; anything else is one key.
func referenceKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		ft := t.Field(i).Type
		for ft.Kind() == reflect.Map && (ft.Elem().Kind() == reflect.Struct || ft.Elem().Kind() == reflect.Map) {
			p += ".<name>"
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			out = append(out, referenceKeys(ft, p)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

var placeholder = regexp.MustCompile(`<[A-Za-z]+>`)

// documentedKeys are the first cells of docs/configuration.md's table rows,
// with their placeholders written <name>, mapped to their other cells.
func documentedKeys(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([^`]+)` \\|(.*)\\|$")
	out := map[string][]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		out[placeholder.ReplaceAllString(m[1], "<name>")] = strings.Split(m[2], " | ")
	}
	return out
}

// TestReferenceDocumentsEveryKey keeps docs/configuration.md in step with
// the config structs: a key added, renamed or removed without its row fails.
func TestReferenceDocumentsEveryKey(t *testing.T) {
	keys := referenceKeys(reflect.TypeFor[config.Config](), "")
	if len(keys) < 100 {
		t.Fatalf("walked only %d keys: the walk is broken", len(keys))
	}
	doc := documentedKeys(t)
	for _, k := range keys {
		cells, ok := doc[k]
		if !ok {
			t.Errorf("docs/configuration.md: key %s is not documented (add a row: | `%s` | type | default | example | meaning |)", k, k)
			continue
		}
		if len(cells) != 4 || slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) == "" }) {
			t.Errorf("docs/configuration.md: row of %s needs type, default, example and meaning, got %q", k, cells)
		}
	}
	for k := range doc {
		if !slices.Contains(keys, k) {
			t.Errorf("docs/configuration.md documents %s, which is no config key", k)
		}
	}
	// Every top-level section has its own heading.
	b, _ := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	for _, k := range keys {
		top, _, _ := strings.Cut(k, ".")
		if !strings.Contains(string(b), "## `"+top+"`") {
			t.Errorf("docs/configuration.md: no section ## `%s`", top)
		}
	}
}

// TestReadmeLinksReference: the README's Configuration section points at
// the full reference.
func TestReadmeLinksReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	if !strings.Contains(section, "(docs/configuration.md)") {
		t.Error("README.md ## Configuration does not link docs/configuration.md")
	}
}
