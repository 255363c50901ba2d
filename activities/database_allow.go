package activities

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/triggerd/triggerd/run/errtype"
)

// Database operations, the names of an allow-list's operations.
const (
	OpInsert = "insert"
	OpUpdate = "update"
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// TableAllowList is what the database.* actions may do on one database:
// the operations (OpInsert, OpUpdate, OpUpsert, OpDelete) allowed on each
// schema-qualified table ("public.orders").
type TableAllowList map[string][]string

// WithTableAllowLists restricts the database.* actions on each named
// database to its list. A table that a list does not name (or an operation
// it does not list for the table) fails the action with the non-retryable
// TABLE_NOT_ALLOWED, whether the table was written in the definition or
// rendered from the record. A database without a list allows every table
// its role may write.
func WithTableAllowLists(lists map[string]TableAllowList) Option {
	return func(a *Activities) { a.tableLists = lists }
}

// allowTable checks op on table (as the action names it) against dbName's
// list before the catalog is asked anything, so that an event cannot probe
// which tables exist. A schema-qualified name must be on the list; an
// unqualified one must name a listed table, and the table the search path
// resolves it to is checked again (allowResolved).
func (a *Activities) allowTable(dbName, op, table string) error {
	list, ok := a.tableLists[dbName]
	if !ok {
		return nil
	}
	schema, name, qualified := strings.Cut(table, ".")
	if !qualified {
		for listed, ops := range list {
			if _, n, _ := strings.Cut(listed, "."); n == schema && slices.Contains(ops, op) {
				return nil
			}
		}
		return tableNotAllowed(dbName, op, table)
	}
	if slices.Contains(list[schema+"."+name], op) {
		return nil
	}
	return tableNotAllowed(dbName, op, table)
}

// allowResolved checks op on the table the catalog resolved.
func (a *Activities) allowResolved(dbName, op string, ident pgx.Identifier) error {
	list, ok := a.tableLists[dbName]
	if !ok || len(ident) != 2 {
		return nil
	}
	if slices.Contains(list[ident[0]+"."+ident[1]], op) {
		return nil
	}
	return tableNotAllowed(dbName, op, ident[0]+"."+ident[1])
}

func tableNotAllowed(dbName, op, table string) error {
	return permanent(errtype.TableNotAllowed, fmt.Errorf(
		"database %q: %s on table %q is not allowed (databases.%s.tables lists the tables and operations database actions may use)",
		dbName, op, table, dbName))
}
