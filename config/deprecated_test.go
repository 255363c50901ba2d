package config

import (
	"strings"
	"testing"
	"time"
)

// TestRenamedKeysStillWork: a key under its former name, in the file or
// as a variable, sets the current key and is reported as a deprecation,
// not a problem.
func TestRenamedKeysStillWork(t *testing.T) {
	base := []string{"TRIGGERD_KAFKA_BROKERS=k:9092", "TRIGGERD_KAFKA_TOPICS=t"}
	p := writeFile(t, "c.yaml", "redis:\n  addr: redis:6379\nquotas: {refresh: 3s}\n")
	c, err := Load(p, base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Address != "redis:6379" || c.Quotas.RefreshInterval != 3*time.Second {
		t.Fatalf("got redis %+v, quotas %+v", c.Redis, c.Quotas)
	}
	deps := c.Deprecations()
	if len(deps) != 2 || deps[0].Old != "redis.addr" || deps[0].New != "redis.address" || deps[0].Line != 2 ||
		deps[1].Old != "quotas.refresh" || deps[1].Line != 3 {
		t.Fatalf("deprecations %+v", deps)
	}
	if s := deps[0].String(); s != "redis.addr (line 2) is deprecated: rename it redis.address" {
		t.Errorf("String() = %q", s)
	}

	c, err = Load("", append(base, "TRIGGERD_REDIS_ADDR=env:6379"))
	if err != nil {
		t.Fatal(err)
	}
	deps = c.Deprecations()
	if c.Redis.Address != "env:6379" || len(deps) != 1 || deps[0].Env != "TRIGGERD_REDIS_ADDR" {
		t.Fatalf("env: %+v %+v", c.Redis, deps)
	}
	if s := deps[0].String(); !strings.Contains(s, "TRIGGERD_REDIS_ADDR is deprecated: rename it TRIGGERD_REDIS_ADDRESS") {
		t.Errorf("String() = %q", s)
	}

	// The current names report nothing.
	c, err = Load("", append(base, "TRIGGERD_REDIS_ADDRESS=r:6379", "TRIGGERD_QUOTAS_REFRESH_INTERVAL=1s"))
	if err != nil || len(c.Deprecations()) != 0 {
		t.Fatalf("current names: %v %+v", err, c.Deprecations())
	}
}

// TestRenamedKeyUnderBothNames: which value wins is not the loader's guess.
func TestRenamedKeyUnderBothNames(t *testing.T) {
	base := []string{"TRIGGERD_KAFKA_BROKERS=k:9092", "TRIGGERD_KAFKA_TOPICS=t"}
	p := writeFile(t, "c.yaml", "redis:\n  address: a:6379\n  addr: b:6379\n")
	_, err := Load(p, base)
	if !hasProblem(problemsOf(t, err), "redis.addr", "line 3: former name of redis.address, which line 2 sets too") {
		t.Fatalf("file: %v", err)
	}
	_, err = Load("", append(base, "TRIGGERD_REDIS_ADDR=a:6379", "TRIGGERD_REDIS_ADDRESS=b:6379"))
	if !hasProblem(problemsOf(t, err), "redis.address", "both TRIGGERD_REDIS_ADDRESS and its former name TRIGGERD_REDIS_ADDR") {
		t.Fatalf("env: %v", err)
	}
	// A bad value under the former name is reported at the current key.
	p = writeFile(t, "c.yaml", "quotas: {refresh: soon}\n")
	_, err = Load(p, base)
	if !hasProblem(problemsOf(t, err), "quotas.refreshInterval", "line 1: must be a duration") {
		t.Fatalf("type: %v", err)
	}
}

// TestRenamesPointAtKeys: every rename's new name is a key of Config.
func TestRenamesPointAtKeys(t *testing.T) {
	for _, r := range Renames() {
		if _, ok := fieldAt(reflectConfig(), r.New); !ok {
			t.Errorf("%s → %s: no such key", r.Old, r.New)
		}
		if _, ok := fieldAt(reflectConfig(), r.Old); ok {
			t.Errorf("%s is still a key", r.Old)
		}
	}
}
