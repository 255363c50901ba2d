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
	if d := c.Databases["default"]; d.Driver != DatabasePostgres || d.DSN != "postgres://app@db/app" {
		t.Fatalf("loaded %+v", c.Databases)
	}
}

func TestDatabaseProblemsHaveFieldPaths(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
databases:
  reporting: {driver: mysql, dsn: "x"}
  orders: {driver: postgres, dsn: ""}
  misspelt: {driver: postgres, dsn: "x", pasword: y}
`)
	_, err := Load(p, nil)
	probs := problemsOf(t, err)
	for _, want := range [][2]string{
		{"databases.reporting.driver", "must be one of postgres"},
		{"databases.orders.dsn", "must not be empty"},
		{"databases.misspelt.pasword", "unknown key"},
	} {
		if !hasProblem(probs, want[0], want[1]) {
			t.Errorf("no problem %v in %v", want, probs)
		}
	}
}
