package trigger

import (
	"fmt"
	"strings"

	"github.com/triggerd/triggerd/trigger/template"
)

// Problem is one validation failure, located by file, trigger tag and the
// field path inside the trigger (e.g. "actions[1].config.url").
type Problem struct {
	File   string
	Tag    string
	Field  string
	Reason string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Tag != "" {
		fmt.Fprintf(&b, "trigger %q: ", p.Tag)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError lists every problem found while parsing or validating
// definitions. Loading reports all of them at once so that a broken
// deployment is fixed in one round trip, not one error at a time.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems accumulates Problems for one trigger of one file.
type problems struct {
	file string
	tag  string
	// pos prefixes fields when the trigger has no tag ("triggers[2]").
	pos  string
	list *[]Problem
}

func (p problems) add(field, format string, args ...any) {
	if p.tag == "" && p.pos != "" {
		field = template.JoinField(p.pos, field)
	}
	*p.list = append(*p.list, Problem{File: p.file, Tag: p.tag, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// report is add for a reason already written (template.Check's report).
func (p problems) report(field, reason string) { p.add(field, "%s", reason) }
