package config

import "testing"

func TestDatabases(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
databases:
  default: {driver: postgres, dsn: "postgres://app@db/app"}
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Databases["default"]; d.Driver != DatabasePostgres || d.DSN != "postgres://app@db/app" || d.Tables != nil {
		t.Fatalf("loaded %+v", c.Databases)
	}
	p = writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
databases:
  default: {driver: postgres, dsn: "x", tables: {public.orders: [insert, update]}}
  locked: {driver: postgres, dsn: "x", tables: {}}
`)
	if c, err = Load(p, nil); err != nil {
		t.Fatal(err)
	}
	if got := c.Databases["default"].Tables["public.orders"]; len(got) != 2 || c.Databases["locked"].Tables == nil {
		t.Fatalf("tables %+v", c.Databases)
	}
}

func TestDatabaseProblemsHaveFieldPaths(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
databases:
  reporting: {driver: mysql, dsn: "x"}
  orders: {driver: postgres, dsn: ""}
  misspelt: {driver: postgres, dsn: "x", pasword: y}
  listed:
    driver: postgres
    dsn: x
    tables: {orders: [insert], public.audit: [], public.events: [insert, truncate], a.b.c: [delete]}
`)
	_, err := Load(p, nil)
	probs := problemsOf(t, err)
	for _, want := range [][2]string{
		{"databases.reporting.driver", "must be one of postgres"},
		{"databases.orders.dsn", "must not be empty"},
		{"databases.misspelt.pasword", "unknown key"},
		{"databases.listed.tables.orders", "must be a schema-qualified table (schema.name)"},
		{"databases.listed.tables.a.b.c", "must be a schema-qualified table"},
		{"databases.listed.tables.public.audit", "must list at least one operation (insert, update, upsert, delete)"},
		{"databases.listed.tables.public.events[1]", `must be one of insert, update, upsert, delete, got "truncate"`},
	} {
		if !hasProblem(probs, want[0], want[1]) {
			t.Errorf("no problem %v in %v", want, probs)
		}
	}
}
