package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
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
