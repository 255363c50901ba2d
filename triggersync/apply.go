package triggersync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// Applied is one trigger in an apply's result.
type Applied struct {
	Tag     string `json:"tag"`
	Version int64  `json:"version"`
	// PreviousVersion is the version an update or a deletion replaced.
	PreviousVersion int64 `json:"previousVersion,omitempty"`
}

// ApplyResult says what an apply did, trigger by trigger.
type ApplyResult struct {
	Created   []Applied `json:"created"`
	Updated   []Applied `json:"updated"`
	Unchanged []Applied `json:"unchanged"`
	Deleted   []Applied `json:"deleted"`
}

// ApplyError refuses an apply: it lists every problem of every document
// (each field prefixed triggers[i], the document's position), so that a
// broken batch is fixed in one round trip. Nothing was applied.
type ApplyError struct {
	Problems []trigger.Problem
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	b.WriteString("invalid trigger definitions: nothing was applied")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// ApplyStore is what Apply needs of the store.
type ApplyStore interface {
	List(ctx context.Context) ([]triggerstore.Record, error)
	Apply(ctx context.Context, changes []triggerstore.Change, actor string) ([]triggerstore.Record, error)
}

// Apply makes the store hold docs (and, with prune, nothing else) in one
// transaction: every document is validated first and a single invalid one
// (or a tag listed twice) refuses the whole batch with an *ApplyError.
// Unchanged triggers get no new version, so applying the same files again
// is a no-op. Each update is conditional on the version it was computed
// from, so a concurrent change makes the apply fail (409) rather than
// overwrite it. check, if set, also refuses documents naming resources the
// configuration does not define.
//
// opts (the limits) validate every document.
func Apply(ctx context.Context, st ApplyStore, docs []json.RawMessage, prune bool, actor string, check trigger.Checker, opts ...trigger.Option) (ApplyResult, error) {
	res := ApplyResult{Created: []Applied{}, Updated: []Applied{}, Unchanged: []Applied{}, Deleted: []Applied{}}
	bad := &ApplyError{}
	specs := make(map[string]json.RawMessage, len(docs))
	var order []string
	for i, doc := range docs {
		prefix := fmt.Sprintf("triggers[%d]", i)
		tag, spec, probs, err := Canonical(doc, check, opts...)
		if err != nil {
			return res, err
		}
		if len(probs) > 0 {
			for _, p := range probs {
				p.Field = strings.TrimSuffix(prefix+"."+p.Field, ".")
				bad.Problems = append(bad.Problems, p)
			}
			continue
		}
		if _, dup := specs[tag]; dup {
			bad.Problems = append(bad.Problems, trigger.Problem{Field: prefix + ".tag", Tag: tag, Reason: "duplicate tag in the request"})
			continue
		}
		specs[tag] = spec
		order = append(order, tag)
	}
	if len(bad.Problems) > 0 {
		return res, bad
	}
	recs, err := st.List(ctx)
	if err != nil {
		return res, err
	}
	current := make(map[string]triggerstore.Record, len(recs))
	for _, r := range recs {
		if !r.Deleted {
			current[r.Tag] = r
		}
	}
	var changes []triggerstore.Change
	for _, tag := range order {
		cur, ok := current[tag]
		switch {
		case !ok:
			changes = append(changes, triggerstore.Change{Kind: triggerstore.ChangeCreate, Tag: tag, Spec: specs[tag]})
		case SameSpec(cur.Spec, specs[tag]):
			res.Unchanged = append(res.Unchanged, Applied{Tag: tag, Version: cur.Version})
		default:
			changes = append(changes, triggerstore.Change{Kind: triggerstore.ChangeUpdate, Tag: tag, Spec: specs[tag], IfVersion: cur.Version})
		}
	}
	if prune {
		var gone []string
		for tag := range current {
			if _, keep := specs[tag]; !keep {
				gone = append(gone, tag)
			}
		}
		slices.Sort(gone)
		for _, tag := range gone {
			changes = append(changes, triggerstore.Change{Kind: triggerstore.ChangeDelete, Tag: tag, IfVersion: current[tag].Version})
		}
	}
	if len(changes) == 0 {
		return res, nil
	}
	done, err := st.Apply(ctx, changes, actor)
	if err != nil {
		return res, fmt.Errorf("apply %d change(s): %w", len(changes), err)
	}
	for i, ch := range changes {
		var v int64
		if i < len(done) {
			v = done[i].Version
		}
		prev := current[ch.Tag].Version
		switch ch.Kind {
		case triggerstore.ChangeCreate:
			res.Created = append(res.Created, Applied{Tag: ch.Tag, Version: v})
		case triggerstore.ChangeUpdate:
			res.Updated = append(res.Updated, Applied{Tag: ch.Tag, Version: v, PreviousVersion: prev})
		case triggerstore.ChangeDelete:
			res.Deleted = append(res.Deleted, Applied{Tag: ch.Tag, Version: v, PreviousVersion: prev})
		}
	}
	return res, nil
}

// Canonical validates one trigger document and returns its tag and the
// canonical document the store keeps (defaults applied, the file format as
// JSON), or the problems that refuse it, each located by its field. check,
// if set, also refuses a document naming resources the configuration does
// not define. err is only for a failure that is not the document's.
func Canonical(doc []byte, check trigger.Checker, opts ...trigger.Option) (tag string, spec json.RawMessage, problems []trigger.Problem, err error) {
	d, err := ParseStored(doc, opts...)
	if err != nil {
		var ve *trigger.ValidationError
		if errors.As(err, &ve) {
			return "", nil, ve.Problems, nil
		}
		return "", nil, []trigger.Problem{{Reason: err.Error()}}, nil
	}
	if check != nil {
		if probs := check([]trigger.Definition{d}); len(probs) > 0 {
			return "", nil, probs, nil
		}
	}
	spec, err = json.Marshal(d.Document())
	if err != nil {
		return "", nil, nil, fmt.Errorf("encode trigger %q: %w", d.Tag, err)
	}
	return d.Tag, spec, nil, nil
}

// SameSpec compares two stored documents by value, so that key order and
// formatting never make an unchanged trigger look changed.
func SameSpec(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
