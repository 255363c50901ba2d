package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/pflag"
)

// readmeOperations returns README.md's "## Operations" section.
func readmeOperations(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Operations\n")
	if !ok {
		t.Fatal("README.md has no ## Operations section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	return section
}

var (
	commandCell = regexp.MustCompile("(?m)^\\| `triggerd ([^`]+)` \\|")
	subcommand  = regexp.MustCompile(`^[a-z]+(\\\|[a-z]+)*$`)
)

// TestReadmeOperationsCommands checks the command table of README's
// Operations section against the real command tree: every documented
// command and flag exists, and every command is documented.
func TestReadmeOperationsCommands(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard, nil)
	documented := map[string]bool{}
	for _, m := range commandCell.FindAllStringSubmatch(readmeOperations(t), -1) {
		words := strings.Fields(m[1])
		paths := [][]string{nil}
		i := 0
		for ; i < len(words) && subcommand.MatchString(words[i]); i++ {
			var next [][]string
			for _, p := range paths {
				for alt := range strings.SplitSeq(words[i], `\|`) {
					next = append(next, append(slices.Clone(p), alt))
				}
			}
			paths = next
		}
		for _, p := range paths {
			cmd, rest, err := root.Find(p)
			if err != nil || len(rest) > 0 || cmd == root {
				t.Errorf("README documents `triggerd %s`, which is no command", strings.Join(p, " "))
				continue
			}
			documented[cmd.CommandPath()] = true
			for _, w := range words[i:] {
				w = strings.Trim(w, "[]")
				switch {
				case strings.HasPrefix(w, "--"):
					if cmd.Flags().Lookup(strings.TrimPrefix(w, "--")) == nil {
						t.Errorf("README: `%s` has no flag %s", cmd.CommandPath(), w)
					}
				case strings.HasPrefix(w, "-") && len(w) == 2:
					if cmd.Flags().ShorthandLookup(w[1:]) == nil {
						t.Errorf("README: `%s` has no flag %s", cmd.CommandPath(), w)
					}
				}
			}
		}
	}
	// Every leaf command (and every command without subcommands) is there.
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		leaves := c.Commands()
		if len(leaves) == 0 {
			if !documented[c.CommandPath()] {
				t.Errorf("README Operations does not document `%s`", c.CommandPath())
			}
			continue
		}
		for _, l := range leaves {
			if !l.Hidden && !documented[l.CommandPath()] {
				t.Errorf("README Operations does not document `%s`", l.CommandPath())
			}
		}
	}
}

var (
	metricName   = regexp.MustCompile(`Name:\s+"(triggerd_[a-z_]+)"`)
	metricInText = regexp.MustCompile("`(triggerd_[a-z_]+)(\\{[^`]*\\})?`")
)

// TestReadmeOperationsMetrics checks that README's Operations section
// lists exactly the metrics the code registers.
func TestReadmeOperationsMetrics(t *testing.T) {
	var inCode []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricName.FindAllStringSubmatch(string(b), -1) {
			inCode = append(inCode, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inCode) == 0 {
		t.Fatal("found no metric in the code: the scan is broken")
	}
	var inReadme []string
	for _, m := range metricInText.FindAllStringSubmatch(readmeOperations(t), -1) {
		inReadme = append(inReadme, m[1])
	}
	for _, n := range inCode {
		if !slices.Contains(inReadme, n) {
			t.Errorf("README Operations does not list metric %s", n)
		}
	}
	for _, n := range inReadme {
		if !slices.Contains(inCode, n) {
			t.Errorf("README Operations lists metric %s, which the code does not register", n)
		}
	}
}

// docFiles are the documents whose command lines TestDocsCommandsExist
// checks.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../../README.md", "../../api/openapi.yaml"}
	for _, pattern := range []string{"../../docs/*.md", "../../examples/*/README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

var (
	codeSpan   = regexp.MustCompile("`([^`\n]+)`")
	invocation = regexp.MustCompile(`(?:^|[\s(/])triggerd ([a-z].*)$`)
	comment    = regexp.MustCompile(`(^|\s)#.*$`)
)

// commandLines returns the code of a Markdown (or YAML) document that
// invokes triggerd: code spans and the lines of fenced blocks, with their
// line numbers; a block's lines ending in \ are joined.
func commandLines(text string) map[int]string {
	out := map[int]string{}
	add := func(n int, code string) {
		if m := invocation.FindStringSubmatch(code); m != nil {
			out[n] = m[1]
		}
	}
	fenced, pending, pendingLine := false, "", 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			if pending == "" {
				pendingLine = i + 1
			}
			if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
				pending += cont + " "
				continue
			}
			add(pendingLine, comment.ReplaceAllString(pending+trimmed, ""))
			pending = ""
			continue
		}
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			add(i+1, m[1])
		}
	}
	return out
}

// TestDocsCommandsExist checks every triggerd command line of the README,
// docs/*.md, the examples' READMEs and the OpenAPI document against the
// real command tree: the command exists under its current name, and so do
// the flags the line passes.
func TestDocsCommandsExist(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard, nil)
	checked := 0
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(file, "../../")
		for n, line := range commandLines(string(b)) {
			checked++
			where := fmt.Sprintf("%s:%d: `triggerd %s`", name, n, line)
			var words []string
			for _, w := range strings.Fields(line) {
				if w == "#" || w == "|" || w == "&&" || w == ";" || w == ">" || strings.HasPrefix(w, "#") {
					break
				}
				words = append(words, w)
			}
			// Alternatives (apply\|list) are each a command.
			paths := [][]string{nil}
			i := 0
			for ; i < len(words) && subcommand.MatchString(strings.ReplaceAll(words[i], "|", `\|`)); i++ {
				var next [][]string
				for _, p := range paths {
					for alt := range strings.SplitSeq(strings.ReplaceAll(words[i], `\|`, "|"), "|") {
						next = append(next, append(slices.Clone(p), alt))
					}
				}
				paths = next
			}
			for _, p := range paths {
				cmd, rest, err := root.Find(p)
				if err != nil || cmd == root {
					t.Errorf("%s: no command `triggerd %s`", where, strings.Join(p, " "))
					continue
				}
				if len(rest) > 0 && len(cmd.Commands()) > 0 {
					t.Errorf("%s: `%s` has no subcommand %q", where, cmd.CommandPath(), rest[0])
					continue
				}
				if deprecated(cmd) {
					t.Errorf("%s: `%s` is a former spelling: use `%s`", where, cmd.CommandPath(), cmd.Annotations[deprecatedAnnotation])
				}
				for _, w := range words[i:] {
					w = strings.Trim(w, "[]()`'\",")
					var f *pflag.Flag
					switch {
					case w == "--help" || w == "-h":
						continue
					case strings.HasPrefix(w, "--"):
						fname, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
						if f = cmd.Flags().Lookup(fname); f == nil {
							f = cmd.InheritedFlags().Lookup(fname)
						}
					case len(w) == 2 && w[0] == '-' && unicode.IsLetter(rune(w[1])):
						if f = cmd.Flags().ShorthandLookup(w[1:]); f == nil {
							f = cmd.InheritedFlags().ShorthandLookup(w[1:])
						}
					default:
						continue
					}
					switch {
					case f == nil:
						t.Errorf("%s: `%s` has no flag %s", where, cmd.CommandPath(), w)
					case len(f.Annotations[deprecatedAnnotation]) > 0:
						t.Errorf("%s: %s is a former spelling: use %s", where, w, f.Annotations[deprecatedAnnotation][0])
					}
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("found only %d command lines: the scan is broken", checked)
	}
}
