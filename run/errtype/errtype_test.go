package errtype

import "testing"

// A type in both lists would be retried by the activities' classification
// and denied by the workflow's policy (or the reverse), depending on which
// list a reader looked at.
func TestListsAreDisjointAndUnique(t *testing.T) {
	seen := map[string]string{}
	for list, types := range map[string][]string{"Retryable": Retryable(), "Permanent": Permanent()} {
		for _, typ := range types {
			if prev, ok := seen[typ]; ok {
				t.Errorf("%s is in %s and in %s", typ, prev, list)
			}
			seen[typ] = list
		}
	}
}
