package trigger

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
)

// RowFetcher reads a changed row's current values from a configured
// database, for triggers with refetch.
type RowFetcher interface {
	// FetchRow returns the current values of columns of ev's row, found
	// by its primary key (whose values ev.Record holds), in the database
	// named database, decoded as ingest decodes change events. It returns
	// nil, nil when the row no longer exists.
	FetchRow(ctx context.Context, database string, ev *run.Event, columns []string) (map[string]any, error)
}

// DefaultRefetchTimeout bounds one refetch when WithRowFetcher is given
// none.
const DefaultRefetchTimeout = 5 * time.Second

// refetched is an event with its unavailable record columns read again
// from one database (once per event and database).
type refetched struct {
	ev    run.Event
	lazy  *lazyEnv
	notes []string
}

// refetchColumns lists the record columns of ev a refetch can fill:
// the unavailable ones of an insert or update (a deleted row is gone).
func refetchColumns(ev *run.Event) []string {
	if ev.Operation != run.OperationInsert && ev.Operation != run.OperationUpdate {
		return nil
	}
	var cols []string
	for _, u := range ev.Unavailable {
		if col, ok := strings.CutPrefix(u, "record."); ok {
			cols = append(cols, col)
		}
	}
	return cols
}

// refetch reads ev's unavailable record columns from database. It never
// fails: a failed read leaves them unavailable (so conditions on them
// stay unknown) and says why in the notes.
func refetch(f RowFetcher, timeout time.Duration, database string, ev *run.Event, cols []string) *refetched {
	if timeout <= 0 {
		timeout = DefaultRefetchTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	begin := time.Now()
	row, err := f.FetchRow(ctx, database, ev, cols)
	took := time.Since(begin).Round(time.Microsecond)
	out := &refetched{ev: *ev, lazy: &lazyEnv{}}
	switch {
	case err != nil:
		out.notes = []string{fmt.Sprintf("refetch of %s from database %s failed after %s: %v; they stay unavailable", strings.Join(cols, ", "), database, took, err)}
		return out
	case row == nil:
		out.notes = []string{fmt.Sprintf("refetch of %s from database %s: the row no longer exists (%s); they stay unavailable", strings.Join(cols, ", "), database, took)}
		return out
	}
	out.ev.Record = maps.Clone(ev.Record)
	var filled []string
	for _, c := range cols {
		if v, ok := row[c]; ok {
			out.ev.Record[c] = v
			filled = append(filled, c)
		}
	}
	out.ev.Unavailable = slices.DeleteFunc(slices.Clone(ev.Unavailable), func(u string) bool {
		col, ok := strings.CutPrefix(u, "record.")
		return ok && slices.Contains(filled, col)
	})
	if len(out.ev.Unavailable) == 0 {
		out.ev.Unavailable = nil
	}
	out.notes = []string{fmt.Sprintf("refetched %s from database %s in %s", strings.Join(filled, ", "), database, took)}
	return out
}
