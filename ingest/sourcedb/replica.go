package sourcedb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// replicaIdentities names pg_class.relreplident's values.
var replicaIdentities = map[string]string{"d": "DEFAULT", "n": "NOTHING", "f": "FULL", "i": "USING INDEX"}

// CheckReplicaIdentity reads the replica identity of the tables that
// readers lists (a trigger's table entry, "table", "schema.table" or
// "db.schema.table", → the tags of the triggers that read its previous
// row) and returns a warning for each whose identity is not FULL: its
// updates carry no before image, so what those triggers read of it is
// unknown. Tables the database does not hold are skipped (they may live
// in another source).
func CheckReplicaIdentity(ctx context.Context, db Querier, readers map[string][]string) ([]string, error) {
	if len(readers) == 0 {
		return nil, nil
	}
	rows, err := db.Query(ctx, `
SELECT current_database(), n.nspname, c.relname, c.relreplident::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	defer rows.Close()
	type table struct{ db, schema, name, ident string }
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.db, &t.schema, &t.name, &t.ident); err != nil {
			return nil, fmt.Errorf("read replica identities: %w", err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	notFull := map[string][]string{} // schema.table -> tags
	for entry, tags := range readers {
		parts := strings.Split(entry, ".")
		for _, t := range tables {
			match := false
			switch len(parts) {
			case 1:
				match = strings.EqualFold(parts[0], t.name)
			case 2: // schema.table or db.table, as triggers read it
				match = strings.EqualFold(parts[1], t.name) && (strings.EqualFold(parts[0], t.schema) || strings.EqualFold(parts[0], t.db))
			case 3:
				match = strings.EqualFold(parts[0], t.db) && strings.EqualFold(parts[1], t.schema) && strings.EqualFold(parts[2], t.name)
			}
			if match && t.ident != "f" {
				k := t.schema + "." + t.name + "\x00" + t.ident
				notFull[k] = append(notFull[k], tags...)
			}
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(notFull)) {
		name, ident, _ := strings.Cut(k, "\x00")
		tags := slices.Compact(slices.Sorted(slices.Values(notFull[k])))
		out = append(out, fmt.Sprintf("table %s has REPLICA IDENTITY %s, not FULL, but triggers %s read its previous row (previousRecord, the CHANGED family, changedFields or onlyOnChange): its updates carry no before image, so what they read of it is unknown and they do not run (ALTER TABLE %s REPLICA IDENTITY FULL)",
			name, replicaIdentities[ident], strings.Join(tags, ", "), name))
	}
	return out, nil
}
