package trigger

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNonUTF8IsRefusedWithItsPath: bytes that are not UTF-8 anywhere in a
// definition (a name, a key, a message deep in an action's config) are
// refused with the field path, in JSON and in YAML; nothing is rewritten
// to U+FFFD.
func TestNonUTF8IsRefusedWithItsPath(t *testing.T) {
	bad := "caf\xe9"
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"json name", `{"tag": "t", "name": "` + bad + `", "tables": ["users"], "events": ["afterInsert"], "actions": [{"type": "log", "config": {"message": "hi"}}]}`,
			[]string{"name"}},
		{"json deep value and key", `{"tag": "t", "tables": ["users"], "events": ["afterInsert"], "actions": [{"type": "log", "config": {"message": "ok", "fields": {"k": ["a", "` + bad + `"], "` + bad + `": 1}}}]}`,
			[]string{"actions[0].config.fields.caf\uFFFD", "actions[0].config.fields.k[1]"}},
		{"yaml message", "tag: t\ntables: [users]\nevents: [afterInsert]\nactions:\n  - type: log\n    config: {message: \"" + bad + "\"}\n",
			[]string{"actions[0].config.message"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(c.doc))
			require.Error(t, err)
			ve := err.(*ValidationError)
			var fields []string
			for _, p := range ve.Problems {
				fields = append(fields, p.Field)
				assert.Contains(t, p.Reason, "is not valid UTF-8 (byte 0xe9 at offset")
			}
			assert.Equal(t, c.want, fields)
			require.Error(t, CheckUTF8([]byte(c.doc)))
		})
	}
	assert.NoError(t, CheckUTF8([]byte(`{"name": "café \uFFFD"}`)), "valid UTF-8, U+FFFD included, passes")

	// A file: its problems name the file too.
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(f, []byte(cases[2].doc), 0o600))
	_, err := Load(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), f+": actions[0].config.message: is not valid UTF-8")

	// Bytes outside any string: the document is refused as a whole.
	_, err = ParseDocument([]byte("{\"tag\": \"t\"\xff}"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document is not valid UTF-8 (byte 0xff at offset 11)")
}
