package trigger

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// coreDocTypes are the action types whose examples in docs/actions.md this
// test loads (other sections are checked by their own tests).
var coreDocTypes = []string{"http", "broker.publish", "cache.set", "cache.get", "cache.delete", "cache.invalidate",
	"log", "log.warn", "log.info", "log.error", "log.debug", "storage.upload", "storage.copy", "storage.delete"}

// Every YAML example of an action list in docs/actions.md is a valid list
// of actions: a reader can paste it into a trigger.
func TestActionsDocExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../docs/actions.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	types := regexp.MustCompile(`(?m)type: ([a-z.]+)`)
	checked := map[string]bool{}
	loaded := 0
	for _, m := range blocks {
		block := m[1]
		if !strings.HasPrefix(block, "- ") {
			continue // a config excerpt, not a list of actions
		}
		ours := true
		for _, tm := range types.FindAllStringSubmatch(block, -1) {
			ours = ours && contains(coreDocTypes, tm[1])
			checked[tm[1]] = true
		}
		if !ours {
			continue
		}
		indented := "  " + strings.ReplaceAll(strings.TrimRight(block, "\n"), "\n", "\n  ") + "\n"
		require.Empty(t, loadProblems(t, indented), "docs/actions.md example:\n%s", block)
		loaded++
	}
	require.GreaterOrEqual(t, loaded, 5, "examples loaded")
	for _, typ := range []string{"http", "broker.publish", "cache.set", "cache.get", "cache.delete", "cache.invalidate", "storage.upload", "storage.copy", "storage.delete"} {
		require.True(t, checked[typ], "docs/actions.md has no example of %s", typ)
	}
}
