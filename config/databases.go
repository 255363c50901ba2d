package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DatabasePostgres is the only driver of Database so far.
const DatabasePostgres = "postgres"

// Database is a named connection of the database.* actions:
//
//	databases:
//	  default: {driver: postgres, dsn: "postgres://app@db/app"}
//
// Named maps have no environment overrides (their keys are not known in
// advance); keep a password out of the file with the PGPASSWORD variable
// or a .pgpass file, which the driver reads.
type Database struct {
	Driver string `yaml:"driver"`
	DSN    string `yaml:"dsn"`
	// Tables, when set, is the allow-list of the database.* actions on
	// this database: each schema-qualified table ("public.orders") with
	// the operations (insert, update, upsert, delete) they may run on it.
	// Any other table, whether written in a definition or rendered from a
	// record, fails the action with TABLE_NOT_ALLOWED; "tables: {}" allows
	// none. Absent, every table the role may write is allowed.
	Tables map[string][]string `yaml:"tables"`
}

// DatabaseOperations lists the operations of Database.Tables, named after
// the database.* actions.
func DatabaseOperations() []string { return []string{"insert", "update", "upsert", "delete"} }

func (c *Config) validateDatabases(v *validator) {
	for _, name := range slices.Sorted(maps.Keys(c.Databases)) {
		d := c.Databases[name]
		field := fmt.Sprintf("databases.%s", name)
		if name == "" {
			v.add("databases", "a database needs a name")
		}
		v.oneOf(field+".driver", d.Driver, DatabasePostgres)
		v.required(field+".dsn", d.DSN)
		for _, table := range slices.Sorted(maps.Keys(d.Tables)) {
			tf := field + ".tables." + table
			if schema, name, ok := strings.Cut(table, "."); !ok || schema == "" || name == "" || strings.Contains(name, ".") {
				v.add(tf, "must be a schema-qualified table (schema.name)")
			}
			if len(d.Tables[table]) == 0 {
				v.add(tf, "must list at least one operation (%s)", strings.Join(DatabaseOperations(), ", "))
			}
			for i, op := range d.Tables[table] {
				v.oneOf(fmt.Sprintf("%s[%d]", tf, i), op, DatabaseOperations()...)
			}
		}
	}
}
