// Package cdctest is the harness of the tests about database changes: the
// test writes to PostgreSQL and reads what Debezium, running in Kafka
// Connect, made of the change, instead of publishing a hand-written
// envelope.
//
// scripts/services/connect.sh runs a Kafka Connect worker with the Debezium
// PostgreSQL connector and registers two long-lived connectors that every
// test shares (a connector start costs seconds, and PostgreSQL has few
// replication slots):
//
//	Schemas     triggerd-test-schemas: JsonConverter with schemas.enable=true
//	            and Debezium's default encodings (precise decimals, adaptive
//	            time precision, numeric intervals). Captures schemas cdcs_*.
//	Schemaless  triggerd-test-schemaless: schemas.enable=false with the
//	            settings of deploy/debezium/postgres-connector.json
//	            (decimal.handling.mode=string, time.precision.mode=connect,
//	            interval.handling.mode=string). Captures schemas cdcp_*.
//
// Both read database "app" of the local PostgreSQL through a publication FOR
// ALL TABLES, so a table created by a test while the connector runs is
// captured from its first change on, and both write the transaction
// metadata topic (<prefix>.transaction) and a heartbeat topic
// (__debezium-heartbeat.<prefix>).
//
// New gives a test its own schema in that database, dropped when the test
// ends, on the connector it chooses (WithConnector). The test creates its
// tables there and writes with SQL (Exec, Pool, DSN); Topic names the topic
// Debezium writes a table's changes to; Read, ReadTopic and ReadUntil return
// the raw Kafka messages (for assertions on Debezium's own output);
// Snapshot asks the connector for snapshot reads of tables. Every wait is on
// explicit state (the connector's status, the replication slot, messages
// arriving), bounded by the caller's context and a safety timeout.
//
// Tables need a primary key (or a REPLICA IDENTITY other than DEFAULT) for
// UPDATE and DELETE: PostgreSQL refuses them on a table without a replica
// identity once a publication covers it, and FOR ALL TABLES covers every
// table of the database.
//
// Like every test of a real service (internal/testenv), a test using the
// harness is skipped when the services are not set up, and fails under
// CI=true.
package cdctest
