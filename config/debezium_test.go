package config

import "testing"

func TestDebeziumValidation(t *testing.T) {
	c := Default()
	c.Kafka.Brokers, c.Kafka.Topics = []string{"127.0.0.1:9092"}, []string{"dbz.public.orders"}
	c.Debezium.Decimals = "float"
	c.Debezium.UnavailableValuePlaceholder = "hex:zz"
	c.Debezium.Connector.TimePrecisionMode = "micros"
	c.Debezium.Database = "app"
	c.Debezium.ColumnTypes = map[string]map[string]string{"public.orders": {"total": " "}}
	probs := problemsOf(t, c.Validate())
	for _, want := range []struct{ field, reason string }{
		{"debezium.decimals", `must be one of string, number, got "float"`},
		{"debezium.unavailableValuePlaceholder", `"zz" after hex: must be hexadecimal octets`},
		{"debezium.connector.timePrecisionMode", `got "micros"`},
		{"debezium.database", `"app" is not a configured database`},
		{"debezium.columnTypes.public.orders.total", "must name a PostgreSQL type"},
	} {
		if !hasProblem(probs, want.field, want.reason) {
			t.Errorf("no problem %s: %s in %v", want.field, want.reason, probs)
		}
	}
}
