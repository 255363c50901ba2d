package docs

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// TestActionTypesDocumented: every action type the language accepts has a
// section of actions.md (a "## " heading naming it, families joined by
// " / ") and is named in the activities package's documentation; no
// heading names a type the language does not accept.
func TestActionTypesDocumented(t *testing.T) {
	types := trigger.KnownActionTypes()
	if len(types) < 20 {
		t.Fatalf("the language accepts %d action types: the list is broken", len(types))
	}
	b, err := os.ReadFile("actions.md")
	if err != nil {
		t.Fatal(err)
	}
	actionLike := regexp.MustCompile(`^[a-z]+(\.[a-z]+)?$`)
	var headed []string
	for line := range strings.SplitSeq(string(b), "\n") {
		heading, ok := strings.CutPrefix(line, "## ")
		if !ok {
			continue
		}
		for name := range strings.SplitSeq(heading, " / ") {
			if strings.Contains(name, ".") && !slices.Contains(types, name) && actionLike.MatchString(name) {
				t.Errorf("actions.md: heading %q names %s, which is no action type", heading, name)
			}
			headed = append(headed, name)
		}
	}
	doc, err := os.ReadFile("../activities/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range types {
		if !slices.Contains(headed, typ) {
			t.Errorf("actions.md: action type %s has no section (## %s, or in a family's ## a / b)", typ, typ)
		}
		if !regexp.MustCompile(`(^|[^a-z.])` + regexp.QuoteMeta(typ) + `($|[^a-z.])`).Match(doc) {
			t.Errorf("activities/doc.go does not name action type %s", typ)
		}
	}
}

// TestTranslationLaterMarks: a row of translation.md marked for a later
// issue (⏳) or saying "later" names no action type the language already
// accepts, in full (storage.upload) or by family (storage.*).
func TestTranslationLaterMarks(t *testing.T) {
	b, err := os.ReadFile("translation.md")
	if err != nil {
		t.Fatal(err)
	}
	types := trigger.KnownActionTypes()
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") || !(strings.Contains(line, "⏳") || strings.Contains(line, "later")) {
			continue
		}
		for _, typ := range types {
			family, _, _ := strings.Cut(typ, ".")
			if strings.Contains(line, "`"+typ+"`") || strings.Contains(line, "`"+family+".*`") {
				t.Errorf("translation.md:%d: marked for later, yet action type %s exists: %s", i+1, typ, line)
				break
			}
		}
	}
}

// TestActionTypesRegistered: every action type the language accepts is
// registered as an activity or run by the workflow itself (a child
// workflow), and every registered activity is a type the language accepts.
func TestActionTypesRegistered(t *testing.T) {
	accepted := trigger.KnownActionTypes()
	registered := slices.Sorted(maps.Keys(activities.New().Actions()))
	byWorkflow := run.WorkflowActionTypes()
	for _, typ := range accepted {
		if !slices.Contains(registered, typ) && !slices.Contains(byWorkflow, typ) {
			t.Errorf("action type %s is accepted by the language, but no activity is registered under it", typ)
		}
		if slices.Contains(registered, typ) && slices.Contains(byWorkflow, typ) {
			t.Errorf("action type %s is both an activity and run by the workflow", typ)
		}
	}
	for _, typ := range slices.Concat(registered, byWorkflow) {
		if !slices.Contains(accepted, typ) {
			t.Errorf("action type %s is registered (or run by the workflow), but the language does not accept it", typ)
		}
	}
}

// TestActionConfigKeysDocumented: every config key an action type accepts
// is named (`key`) in the actions.md section of that type.
func TestActionConfigKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("actions.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{} // action type -> its section's text
	var current []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if heading, ok := strings.CutPrefix(line, "## "); ok {
			current = strings.Split(heading, " / ")
			continue
		}
		for _, typ := range current {
			sections[typ] += line + "\n"
		}
	}
	for _, typ := range trigger.KnownActionTypes() {
		keys := trigger.ActionConfigKeys(typ)
		if len(keys) == 0 {
			t.Errorf("action type %s accepts no config key: the list is broken", typ)
		}
		for _, k := range keys {
			if !strings.Contains(sections[typ], "`"+k+"`") {
				t.Errorf("actions.md: the section of %s does not document its config key `%s`", typ, k)
			}
		}
	}
}
