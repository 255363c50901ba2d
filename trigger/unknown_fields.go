package trigger

import (
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// UnknownHandling are a trigger's fields about values its change events
// may not carry (docs/debezium.md, "Replica identity, TOAST and unknown
// values").
type UnknownHandling struct {
	// OnUnknown says what an action's template does with an unavailable
	// value: run.OnUnknownFail (the default), run.OnUnknownNull or
	// run.OnUnknownOmit.
	OnUnknown string
	// Refetch, when set, reads the current row from a configured database
	// (by primary key) to fill the unavailable columns of an insert or
	// update before the trigger is matched.
	Refetch *Refetch
}

// Refetch names the database a trigger reads unavailable columns from.
type Refetch struct {
	// Database is a name under the configuration's databases.
	Database string
}

var unknownHandlingFields = []string{"onUnknown", "refetch"}

func decodeUnknownHandling(m map[string]any, f func(string) string, p problems) UnknownHandling {
	u := UnknownHandling{OnUnknown: getString(m, "onUnknown", f("onUnknown"), p)}
	if v, ok := m["onUnknown"]; ok && v == nil {
		// YAML reads an unquoted null as null: that is the null policy.
		u.OnUnknown = run.OnUnknownNull
	}
	if v, ok := m["refetch"]; ok && v != nil {
		rm, ok := v.(map[string]any)
		if !ok {
			p.add(f("refetch"), "must be a mapping {database: <name>}")
			return u
		}
		unknownFields(rm, []string{"database"}, f("refetch"), p)
		u.Refetch = &Refetch{Database: getString(rm, "database", template.JoinField(f("refetch"), "database"), p)}
	}
	return u
}

func (u UnknownHandling) document(doc map[string]any) {
	if u.OnUnknown != "" {
		doc["onUnknown"] = u.OnUnknown
	}
	if u.Refetch != nil {
		doc["refetch"] = map[string]any{"database": u.Refetch.Database}
	}
}

func (u UnknownHandling) validate(before bool, p problems) {
	if before && (u.OnUnknown != "" || u.Refetch != nil) {
		p.add("onUnknown", "onUnknown and refetch apply to change events; a before-trigger gets the application's values")
		return
	}
	switch u.OnUnknown {
	case "", run.OnUnknownFail, run.OnUnknownNull, run.OnUnknownOmit:
	default:
		p.add("onUnknown", "unknown value %q (want %q, %q or %q)", u.OnUnknown, run.OnUnknownFail, run.OnUnknownNull, run.OnUnknownOmit)
	}
	if u.Refetch != nil && u.Refetch.Database == "" {
		p.add("refetch.database", "is required (a name under the configuration's databases)")
	}
}
