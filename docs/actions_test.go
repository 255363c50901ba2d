package docs

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

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
