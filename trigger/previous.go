package trigger

import (
	"slices"
	"strings"

	"github.com/triggerd/triggerd/trigger/template"
)

// PreviousRecordReaders lists, by table entry (as triggers write it:
// "orders", "public.orders"), the tags of the enabled triggers that read
// a change's previous row: a condition on previousRecord or in the
// CHANGED family, a `when:` using previousRecord, changed(),
// changedTo(), changedFrom() or changedFields, a template rendering
// previousRecord or changedFields, or onlyOnChange/ignoreColumns. On a
// table whose replica identity is not FULL, updates carry no previous
// row and all of these are unknown.
func (s *Set) PreviousRecordReaders() map[string][]string {
	out := map[string][]string{}
	for _, e := range s.entries {
		if !e.readsPrevious() {
			continue
		}
		for _, t := range e.def.Tables {
			out[t] = append(out[t], e.def.Tag)
		}
	}
	return out
}

func (e *entry) readsPrevious() bool {
	if e.def.OnlyOnChange || len(e.def.IgnoreColumns) > 0 || condReadsPrevious(e.cond) {
		return true
	}
	if w := e.def.When; w != "" && (strings.Contains(w, "previousRecord") || strings.Contains(w, "changed")) {
		return true
	}
	for _, acts := range [][]Action{e.def.Actions, e.def.OnError} {
		for _, a := range acts {
			if templatesRead(a.Config, "previousRecord", "previousRecords", "changedFields") {
				return true
			}
		}
	}
	return false
}

func condReadsPrevious(c *compiled) bool {
	if c == nil {
		return false
	}
	if c.isChange() || c.field.Root == "previousRecord" {
		return true
	}
	return slices.ContainsFunc(c.children, condReadsPrevious)
}

// templatesRead reports whether a placeholder in v starts with one of
// roots.
func templatesRead(v any, roots ...string) bool {
	switch x := v.(type) {
	case string:
		phs, _ := template.Scan(x)
		for _, ph := range phs {
			if pt, _, err := template.ParsePipeline(ph.Expr); err == nil && slices.Contains(roots, pt.Root) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if templatesRead(e, roots...) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return templatesRead(e, roots...) })
	}
	return false
}
