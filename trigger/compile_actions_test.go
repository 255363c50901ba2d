package trigger

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two onError actions with one name would share one idempotency key
// (<workflow id>/onError/<name>): the second would be taken for a retry
// of the first. The onError list goes through the same compiler as the
// actions, so the duplicate is refused with the field that holds it.
func TestOnErrorDuplicateActionName(t *testing.T) {
	defs, err := Parse([]byte(`
triggers:
  - tag: dup
    tables: [users]
    events: [afterInsert]
    actions: [{type: log, name: tell, config: {message: m}}]
    onError:
      - {type: log, name: tell, config: {message: first}}
      - {type: log, name: tell, config: {message: second}}
`), "dup.yaml")
	require.NoError(t, err)
	_, err = NewSet(defs)
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Len(t, ve.Problems, 1, "%v", err)
	assert.Equal(t, "dup", ve.Problems[0].Tag)
	assert.Equal(t, "onError[1].name", ve.Problems[0].Field)
	assert.Contains(t, ve.Problems[0].Reason, `duplicate action name "tell"`)

	// The global error handler (config's onError) is checked the same way.
	_, err = CompileOnError([]any{
		map[string]any{"type": "log", "name": "tell", "config": map[string]any{"message": "a"}},
		map[string]any{"type": "log", "name": "tell", "config": map[string]any{"message": "b"}},
	})
	assert.ErrorContains(t, err, `onError[1].name: duplicate action name "tell"`)

	// An onError action may reuse a name of the trigger's actions (its key
	// is under onError/) and unnamed ones get distinct default names.
	s := mustSet(t, `
triggers:
  - tag: ok
    tables: [users]
    events: [afterInsert]
    actions: [{type: log, name: tell, config: {message: m}}]
    onError: [{type: log, name: tell, config: {message: a}}, {type: log, config: {message: b}}, {type: log, config: {message: c}}]
`)
	require.Len(t, s.Definitions()[0].OnError, 3)
}
