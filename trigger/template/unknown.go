package template

import (
	"strings"

	"github.com/triggerd/triggerd/run"
)

// Reasons an unavailable value is unknown, which conditions, templates
// and dry-run reports give alike.
const (
	ReasonNoPrevious = "previousRecord is not available: the update carries no before image (the table's replica identity is not FULL)"
)

// ReasonUnavailable is why field, listed in run.Event.Unavailable, is unknown.
func ReasonUnavailable(field string) string {
	return field + " is unavailable: the change event does not carry it (an unchanged TOAST value; REPLICA IDENTITY FULL or a refetch provides it)"
}

// Unavailable says why the value at root.Segs is unknown for ev, "" when
// it is known. A whole row is unknown when any of its fields is.
func Unavailable(ev *run.Event, root string, segs []Segment) (field, reason string) {
	if root != "record" && root != "previousRecord" {
		return "", ""
	}
	if root == "previousRecord" && ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil {
		return run.UnavailablePrevious, ReasonNoPrevious
	}
	for _, u := range ev.Unavailable {
		r, col, _ := strings.Cut(u, ".")
		if r != root {
			continue
		}
		if col == "" {
			return u, ReasonNoPrevious
		}
		if len(segs) == 0 || (!segs[0].IsIndex && segs[0].Key == col) {
			return u, ReasonUnavailable(u)
		}
	}
	return "", ""
}
