package config

import (
	"fmt"
	"maps"
	"slices"
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
}

func (c *Config) validateDatabases(v *validator) {
	for _, name := range slices.Sorted(maps.Keys(c.Databases)) {
		d := c.Databases[name]
		field := fmt.Sprintf("databases.%s", name)
		if name == "" {
			v.add("databases", "a database needs a name")
		}
		v.oneOf(field+".driver", d.Driver, DatabasePostgres)
		v.required(field+".dsn", d.DSN)
	}
}
