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

	"gopkg.in/yaml.v3"

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

// deprecatedHeading starts the section of docs/configuration.md that
// lists renamed keys; its rows are former names, not keys.
const deprecatedHeading = "\n## Deprecated keys\n"

// referenceSections returns docs/configuration.md's reference (everything
// before "Deprecated keys") and its deprecated keys section.
func referenceSections(t *testing.T) (reference, deprecated string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	reference, deprecated, ok := strings.Cut(string(b), deprecatedHeading)
	if !ok {
		t.Fatalf("docs/configuration.md has no section %q", strings.TrimSpace(deprecatedHeading))
	}
	deprecated, _, _ = strings.Cut(deprecated, "\n## ")
	return reference, deprecated
}

var row = regexp.MustCompile("^\\| `([^`]+)` \\|(.*)\\|$")

// documentedKeys are the first cells of docs/configuration.md's table rows,
// with their placeholders written <name>, mapped to their other cells.
func documentedKeys(t *testing.T) map[string][]string {
	t.Helper()
	reference, _ := referenceSections(t)
	out := map[string][]string{}
	for line := range strings.SplitSeq(reference, "\n") {
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
	reference, _ := referenceSections(t)
	for _, k := range keys {
		top, _, _ := strings.Cut(k, ".")
		if !strings.Contains(reference, "## `"+top+"`") {
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

// TestReferenceDocumentsDeprecatedKeys keeps the "Deprecated keys" table
// in step with config.Renames: every former name is listed with its
// current key and former variable, the current key is a documented key,
// and nothing else is listed there.
func TestReferenceDocumentsDeprecatedKeys(t *testing.T) {
	keys := referenceKeys(reflect.TypeFor[config.Config](), "")
	doc := documentedKeys(t)
	_, deprecated := referenceSections(t)
	listed := map[string][]string{}
	for line := range strings.SplitSeq(deprecated, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			listed[m[1]] = strings.Split(m[2], " | ")
		}
	}
	for _, r := range config.Renames() {
		if slices.Contains(keys, r.Old) {
			t.Errorf("config.Renames: %s is still a key", r.Old)
		}
		if !slices.Contains(keys, r.New) {
			t.Errorf("config.Renames: %s (the new name of %s) is no key", r.New, r.Old)
		}
		if _, ok := doc[r.New]; !ok {
			t.Errorf("docs/configuration.md: %s (the new name of %s) has no row", r.New, r.Old)
		}
		cells, ok := listed[r.Old]
		if !ok {
			t.Errorf("docs/configuration.md: %s is deprecated but not listed under Deprecated keys (| `%s` | `%s` | `%s` | why |)", r.Old, r.Old, r.New, config.EnvName(r.Old))
			continue
		}
		delete(listed, r.Old)
		if len(cells) != 3 || strings.TrimSpace(cells[0]) != "`"+r.New+"`" || strings.TrimSpace(cells[1]) != "`"+config.EnvName(r.Old)+"`" || strings.TrimSpace(cells[2]) == "" {
			t.Errorf("docs/configuration.md: Deprecated keys row of %s: want | `%s` | `%s` | why |, got %q", r.Old, r.New, config.EnvName(r.Old), cells)
		}
	}
	for old := range listed {
		t.Errorf("docs/configuration.md lists %s under Deprecated keys, which config.Renames does not know", old)
	}
}

// TestDocsUseCurrentKeys: the documentation and the example configurations
// use the current name of every renamed key (the former one only where
// the deprecation is documented).
func TestDocsUseCurrentKeys(t *testing.T) {
	files := []string{"README.md", "config.example.yaml", "deploy/triggerd.yaml", "docker-compose.yml", "api/openapi.yaml", "examples/ecommerce/README.md"}
	docs, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		files = append(files, strings.TrimPrefix(filepath.ToSlash(d), "../"))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if f == "docs/configuration.md" {
			text, _, _ = strings.Cut(text, deprecatedHeading)
		}
		for _, r := range config.Renames() {
			// The former key as a whole word: redis.addr, not redis.address.
			old := regexp.MustCompile(`(^|[^A-Za-z0-9_.])` + regexp.QuoteMeta(r.Old) + `($|[^A-Za-z0-9_])`)
			for i, line := range strings.Split(text, "\n") {
				if old.MatchString(line) || regexp.MustCompile(`\b`+config.EnvName(r.Old)+`\b`).MatchString(line) {
					t.Errorf("%s:%d: uses %s, renamed %s: %s", f, i+1, r.Old, r.New, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestExamplesUseCurrentKeys: the example configurations, and the YAML
// blocks of the documentation that are configuration (every top-level key
// is a section), load without a deprecation.
func TestExamplesUseCurrentKeys(t *testing.T) {
	for _, f := range []string{"config.example.yaml", "deploy/triggerd.yaml", "examples/ecommerce/config.yaml"} {
		c, _ := config.LoadFor(config.RoleWorker, filepath.Join("..", f), nil)
		if c == nil {
			t.Fatalf("%s: not loaded", f)
		}
		for _, d := range c.Deprecations() {
			t.Errorf("%s: %s", f, d)
		}
	}
	sections := map[string]bool{}
	for _, k := range referenceKeys(reflect.TypeFor[config.Config](), "") {
		top, _, _ := strings.Cut(k, ".")
		sections[top] = true
	}
	docs, _ := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	docs = append(docs, filepath.Join("..", "README.md"))
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	n := 0
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(b), -1) {
			var top map[string]any
			if yaml.Unmarshal([]byte(m[1]), &top) != nil || len(top) == 0 {
				continue
			}
			isConfig := true
			for k := range top {
				isConfig = isConfig && sections[k]
			}
			if !isConfig {
				continue
			}
			n++
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(m[1]), 0o600); err != nil {
				t.Fatal(err)
			}
			c, _ := config.LoadFor(config.RoleWorker, p, nil)
			if c == nil {
				continue
			}
			for _, dep := range c.Deprecations() {
				t.Errorf("%s: a configuration block uses a former key name: %s", strings.TrimPrefix(filepath.ToSlash(d), "../"), dep.Rename.Old)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found %d configuration blocks in the docs: the scan is broken", n)
	}
}
