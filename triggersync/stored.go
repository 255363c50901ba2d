package triggersync

import (
	"fmt"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// Definitions parses the live records of a store into definitions with
// their version, author and time, for a Registry or a Set, validated with
// opts (the limits).
func Definitions(recs []triggerstore.Record, opts ...trigger.Option) ([]trigger.Definition, error) {
	defs := make([]trigger.Definition, 0, len(recs))
	for _, rec := range recs {
		if rec.Deleted {
			continue
		}
		d, err := ParseStored(rec.Spec, opts...)
		if err != nil {
			return nil, fmt.Errorf("stored trigger %q version %d: %w", rec.Tag, rec.Version, err)
		}
		defs = append(defs, withMeta(d, rec))
	}
	return defs, nil
}

// ParseStored reads and validates one trigger document, as the store
// keeps it or as the API receives it.
func ParseStored(doc []byte, opts ...trigger.Option) (trigger.Definition, error) {
	d, err := trigger.ParseDocument(doc, opts...)
	if err != nil {
		return trigger.Definition{}, err
	}
	if err := trigger.ValidateDefinition(d, opts...); err != nil {
		return trigger.Definition{}, err
	}
	return d, nil
}

// withMeta gives a stored definition its version, author and time, which
// runs then record.
func withMeta(d trigger.Definition, rec triggerstore.Record) trigger.Definition {
	d.Version, d.UpdatedBy, d.UpdatedAt = rec.Version, rec.Actor, rec.ChangedAt
	return d
}
