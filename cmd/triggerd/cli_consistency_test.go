package main

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// groupVerbs is the vocabulary of subcommands: one verb per idea, the same
// in every command group. A new subcommand uses one of these verbs, or
// adds its idea here.
var groupVerbs = map[string]string{
	"list":    "every item of the group, no argument",
	"get":     "one item, by its name",
	"set":     "change an item (an override every process applies)",
	"history": "the recorded changes, newest first",
	"apply":   "make the stored items what files say",
	"delete":  "remove an item",
	"enable":  "turn an item on",
	"disable": "turn an item off",
	"reset":   "put an item back in its initial state",
	"test":    "dry-run an input against the items",
	"rerun":   "run a failed item again",
	"new":     "make a new item",
	"hash":    "derive what the configuration holds from an item",
}

// synonyms are verbs other tools use for an idea groupVerbs names
// otherwise; the message says which one to use.
var synonyms = map[string]string{
	"changes": "history", "versions": "history", "log": "history",
	"show": "get", "describe": "get", "ls": "list",
	"rm": "delete", "remove": "delete", "create": "apply", "update": "set",
}

// shorthands are the short flags, each for one flag name everywhere.
var shorthands = map[string]string{"f": "file", "o": "output", "n": "limit", "c": "config"}

var (
	placeholder = `<[a-z][a-z0-9.|-]*>`
	useWord     = regexp.MustCompile(`^(` + placeholder + `|\[` + placeholder + `\])$`)
	flagInUse   = regexp.MustCompile(`^--?[a-z][a-z-]*$`)
)

// walk calls f for every command under root, root included.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

func deprecated(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if _, ok := c.Annotations[deprecatedAnnotation]; ok {
			return true
		}
	}
	return false
}

func builtin(c *cobra.Command) bool {
	return c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion")
}

// TestCLIConsistency walks the command tree and fails on inconsistent
// verbs, usage lines or flags.
func TestCLIConsistency(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard, nil)
	type flagUse struct {
		cmd  string
		flag *pflag.Flag
	}
	flags := map[string][]flagUse{}
	walk(root, func(c *cobra.Command) {
		if builtin(c) || deprecated(c) {
			return
		}
		path := c.CommandPath()
		checkUse(t, c)
		if r := []rune(c.Short); len(r) == 0 || !unicode.IsUpper(r[0]) || strings.HasSuffix(c.Short, ".") {
			t.Errorf("%s: Short %q: want one capitalised line without a final period", path, c.Short)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if len(f.Annotations[deprecatedAnnotation]) == 0 {
				flags[f.Name] = append(flags[f.Name], flagUse{path, f})
			}
			// pflag takes a `quoted` word of the usage for the value's name.
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: a backquote in the usage names its value: %q", path, f.Name, f.Usage)
			}
		})
		// Groups speak one vocabulary.
		var visible []string
		for _, s := range c.Commands() {
			if !s.Hidden && !builtin(s) {
				visible = append(visible, s.Name())
			}
		}
		if c != root && len(visible) > 0 {
			for _, v := range visible {
				if use, ok := synonyms[v]; ok {
					t.Errorf("%s %s: say %q, as the other groups do", path, v, use)
				} else if _, ok := groupVerbs[v]; !ok {
					t.Errorf("%s %s: %q is no verb of groupVerbs (add its idea there, or use one of them)", path, v, v)
				}
			}
			if slices.Contains(visible, "get") && !slices.Contains(visible, "list") {
				t.Errorf("%s: has get but no list", path)
			}
		}
		if c == root {
			for _, v := range visible {
				if _, ok := groupVerbs[v]; ok {
					t.Errorf("triggerd %s: a group's verb at the top level: put it under its group", v)
				}
				if slices.Contains(visible, v+"s") {
					t.Errorf("triggerd %s and triggerd %ss: a command and a group a letter apart", v, v)
				}
			}
		}
		checkVerbArgs(t, c)
	})

	// A flag name means one thing: the same short flag, type and usage
	// (up to a last parenthesis on what is particular to the command).
	for name, uses := range flags {
		first := uses[0]
		for _, u := range uses[1:] {
			if u.flag.Shorthand != first.flag.Shorthand {
				t.Errorf("--%s: -%s in %s, -%s in %s", name, u.flag.Shorthand, u.cmd, first.flag.Shorthand, first.cmd)
			}
			if u.flag.Value.Type() != first.flag.Value.Type() {
				t.Errorf("--%s: %s in %s, %s in %s", name, u.flag.Value.Type(), u.cmd, first.flag.Value.Type(), first.cmd)
			}
			if usageStem(u.flag.Usage) != usageStem(first.flag.Usage) {
				t.Errorf("--%s: usage %q in %s, %q in %s: say the same, and what differs in a last parenthesis", name, u.flag.Usage, u.cmd, first.flag.Usage, first.cmd)
			}
		}
		for _, u := range uses {
			if s := u.flag.Shorthand; s != "" && shorthands[s] != name {
				t.Errorf("%s: -%s is --%s, want -%s only for --%s", u.cmd, s, name, s, shorthands[s])
			}
			for s, n := range shorthands {
				if n == name && u.flag.Shorthand != s {
					t.Errorf("%s: --%s has no -%s", u.cmd, name, s)
				}
			}
		}
	}
}

// usageStem is a flag's usage without a last parenthesis.
func usageStem(u string) string {
	if i := strings.LastIndex(u, " ("); i > 0 && strings.HasSuffix(u, ")") {
		return u[:i]
	}
	return u
}

// checkUse checks c's usage line: its name, then placeholders in one
// style (<tag>, [<key>]), or a required flag and its placeholder (-f
// <file>), and that it takes the arguments it says.
func checkUse(t *testing.T, c *cobra.Command) {
	t.Helper()
	words := strings.Fields(c.Use)
	if len(words) == 0 || words[0] != c.Name() {
		t.Errorf("%s: Use %q does not start with its name", c.CommandPath(), c.Use)
		return
	}
	required, optional := 0, 0
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case flagInUse.MatchString(w):
			f := c.Flags().Lookup(strings.TrimLeft(w, "-"))
			if len(w) == 2 {
				f = c.Flags().ShorthandLookup(w[1:])
			}
			if f == nil {
				t.Errorf("%s: Use %q names %s, which is no flag", c.CommandPath(), c.Use, w)
			} else if len(f.Annotations[cobra.BashCompOneRequiredFlag]) == 0 {
				t.Errorf("%s: Use %q names %s, which is not required (say it in Long or Example)", c.CommandPath(), c.Use, w)
			}
			if i+1 >= len(words) || !useWord.MatchString(words[i+1]) || strings.HasPrefix(words[i+1], "[") {
				t.Errorf("%s: Use %q: %s needs a <placeholder>", c.CommandPath(), c.Use, w)
			}
			i++
		case useWord.MatchString(w):
			if strings.HasPrefix(w, "[") {
				optional++
			} else {
				required++
			}
		default:
			t.Errorf("%s: Use %q: %q is not a placeholder like <tag> or [<key>]", c.CommandPath(), c.Use, w)
		}
	}
	if c.Args == nil || !c.Runnable() {
		return
	}
	args := func(n int) []string { return make([]string, n) }
	if err := c.Args(c, args(required)); err != nil {
		t.Errorf("%s: Use %q, yet refuses %d argument(s): %v", c.CommandPath(), c.Use, required, err)
	}
	if c.Args(c, args(required+optional+1)) == nil {
		t.Errorf("%s: Use %q, yet accepts %d argument(s)", c.CommandPath(), c.Use, required+optional+1)
	}
	if _, compat := c.Annotations[deprecatedNoArgsAnnotation]; required > 0 && !compat && c.Args(c, args(required-1)) == nil {
		t.Errorf("%s: Use %q, yet accepts %d argument(s)", c.CommandPath(), c.Use, required-1)
	}
}

// checkVerbArgs: a verb takes the same arguments in every group.
func checkVerbArgs(t *testing.T, c *cobra.Command) {
	t.Helper()
	if c.Parent() == nil || c.Parent().Parent() == nil || c.Args == nil {
		return
	}
	accepts := func(n int) bool { return c.Args(c, make([]string, n)) == nil }
	switch c.Name() {
	case "list":
		if !accepts(0) || accepts(1) {
			t.Errorf("%s: list takes no argument", c.CommandPath())
		}
	case "get", "set":
		if !accepts(1) || accepts(2) {
			t.Errorf("%s: %s takes the item's name", c.CommandPath(), c.Name())
		}
	case "history":
		if accepts(2) {
			t.Errorf("%s: history takes at most the item's name", c.CommandPath())
		}
	}
}

// TestFormerSpellings: every hidden command and flag is the former
// spelling of a current one, which it names, and still works, with a
// note on stderr only.
func TestFormerSpellings(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard, nil)
	n := 0
	walk(root, func(c *cobra.Command) {
		if builtin(c) {
			return
		}
		if c.Hidden {
			use, ok := c.Annotations[deprecatedAnnotation]
			if !ok {
				t.Errorf("%s is hidden without naming what replaces it", c.CommandPath())
				return
			}
			n++
			target, rest, err := root.Find(strings.Fields(strings.TrimPrefix(use, "triggerd ")))
			if err != nil || len(rest) > 0 || target.Hidden || target == root {
				t.Errorf("%s: replaced by %q, which is no command", c.CommandPath(), use)
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				return
			}
			use := f.Annotations[deprecatedAnnotation]
			if len(use) == 0 {
				t.Errorf("%s --%s is hidden without naming what replaces it", c.CommandPath(), f.Name)
				return
			}
			n++
			cur := c.LocalFlags().Lookup(strings.TrimPrefix(use[0], "--"))
			if cur == nil || cur.Hidden || cur.Value != f.Value {
				t.Errorf("%s --%s: replaced by %s, which is no flag of the command setting the same value", c.CommandPath(), f.Name, use[0])
			}
		})
	})
	if n < 8 {
		t.Fatalf("found %d former spellings: the walk is broken", n)
	}

	// A former flag sets the current one.
	publish, _, _ := root.Find([]string{"publish"})
	if err := publish.ParseFlags([]string{"--brokers", "a:9092,b:9092"}); err != nil {
		t.Fatal(err)
	}
	if got := publish.Flags().Lookup("kafka-brokers").Value.String(); got != "[a:9092,b:9092]" {
		t.Errorf("--brokers set --kafka-brokers to %s", got)
	}

	// Notes go to stderr, before the command runs as it always did.
	for _, tc := range []struct {
		args []string
		note string
	}{
		{[]string{"run"}, `"triggerd run" is deprecated: use "triggerd serve"`},
		{[]string{"quotas", "changes", "--server", "http://127.0.0.1:1"}, `"triggerd quotas changes" is deprecated: use "triggerd quotas history"`},
		{[]string{"quotas", "get", "--server", "http://127.0.0.1:1"}, `"triggerd quotas get" without an argument is deprecated: use "triggerd quotas list"`},
		{[]string{"breakers", "changes", "--server", "http://127.0.0.1:1"}, `"triggerd breakers changes" is deprecated: use "triggerd breakers history"`},
		{[]string{"test", "-f", "/nonexistent"}, `"triggerd test" is deprecated: use "triggerd triggers test"`},
		{[]string{"gate", "users", "insert", "-f", "/nonexistent", "--previous", "/nonexistent"}, "--previous is deprecated: use --previous-file"},
	} {
		code, out, errOut := runCLI(t, nil, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "triggerd: "+tc.note) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want exit 1 (no server), the note on stderr", tc.args, code, out, errOut)
		}
	}
	// Current spellings print no note.
	code, _, errOut := runCLI(t, nil, "quotas", "list", "--server", "http://127.0.0.1:1")
	if code != 1 || strings.Contains(errOut, "deprecated") {
		t.Errorf("quotas list: exit %d, %q", code, errOut)
	}
}
