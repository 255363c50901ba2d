package config

import (
	"reflect"
	"testing"
)

func reflectConfig() reflect.Value { return reflect.ValueOf(&Config{}).Elem() }

// TestRolesRequireWhatTheyUse: only consuming roles need brokers and
// topics; client roles ignore problems in sections they never read.
func TestRolesRequireWhatTheyUse(t *testing.T) {
	for _, role := range []Role{RoleServe, RoleIngest} {
		_, err := LoadFor(role, "", nil)
		probs := problemsOf(t, err)
		if !hasProblem(probs, "kafka.brokers", "must not be empty") || !hasProblem(probs, "kafka.topics", "must be set") {
			t.Errorf("%s: %v", role, probs)
		}
	}
	for _, role := range []Role{RoleWorker, RoleDev, RoleTemporalClient, RoleKafkaClient} {
		if _, err := LoadFor(role, "", nil); err != nil {
			t.Errorf("%s without Kafka: %v", role, err)
		}
	}

	// A broken Kafka section concerns no Temporal client; a broken
	// Temporal section concerns it.
	p := writeFile(t, "c.yaml", "kafka: {consumers: 0, snapshotReads: maybe, tls: {caFile: /nope}}\nredis: {db: -1}\n")
	if _, err := LoadFor(RoleTemporalClient, p, nil); err != nil {
		t.Errorf("temporal client: %v", err)
	}
	_, err := LoadFor(RoleTemporalClient, p, []string{"TRIGGERD_TEMPORAL_ADDRESS=nope"})
	if probs := problemsOf(t, err); len(probs) != 1 || probs[0].Field != "temporal.address" {
		t.Errorf("temporal client: %v", probs)
	}
	// A Kafka client reads the connection keys only.
	_, err = LoadFor(RoleKafkaClient, p, nil)
	if probs := problemsOf(t, err); len(probs) != 2 || !hasProblem(probs, "kafka.tls.caFile", "cannot read") || !hasProblem(probs, "kafka.tls.enabled", "must be true") {
		t.Errorf("kafka client: %v", probs)
	}
	// A worker reads everything but needs no topics.
	_, err = LoadFor(RoleWorker, p, nil)
	probs := problemsOf(t, err)
	if !hasProblem(probs, "redis.db", "negative") || !hasProblem(probs, "kafka.snapshotReads", "") || hasProblem(probs, "kafka.topics", "") {
		t.Errorf("worker: %v", probs)
	}
	// dev brings its own Temporal and Kafka broker, but uses the topics.
	p = writeFile(t, "c.yaml", "temporal: {address: nope}\nkafka: {brokers: [nope], topics: [triggerd.dlq]}\n")
	_, err = LoadFor(RoleDev, p, nil)
	if probs := problemsOf(t, err); len(probs) != 1 || probs[0].Field != "kafka.topics[0]" {
		t.Errorf("dev: %v", probs)
	}
}

// TestUnknownKeysConcernTheirSection: an unknown key is a problem for the
// roles that read its section, a YAML error for every role.
func TestUnknownKeysConcernTheirSection(t *testing.T) {
	p := writeFile(t, "c.yaml", "kafka: {bogus: 1}\n")
	if _, err := LoadFor(RoleTemporalClient, p, nil); err != nil {
		t.Errorf("temporal client: %v", err)
	}
	if _, err := LoadFor(RoleWorker, p, nil); !hasProblem(problemsOf(t, err), "kafka.bogus", "unknown key") {
		t.Errorf("worker: %v", err)
	}
	p = writeFile(t, "c.yaml", "kafka: [\n")
	if _, err := LoadFor(RoleTemporalClient, p, nil); !hasProblem(problemsOf(t, err), "", "invalid YAML") {
		t.Errorf("temporal client: %v", err)
	}
}
