// Package deploy_test checks the production topology (docker-compose.yml
// and deploy/) against the real configuration loader. There is no Docker
// engine where the tests run, so instead of starting the stack this test
// proves that what the compose file wires together agrees with what
// triggerd reads: renaming a config key, a topic or a service breaks it.
package deploy_test

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/secrets"
)

// repoRoot is where docker-compose.yml lives, relative to this package.
const repoRoot = ".."

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       *build            `yaml:"build"`
	Command     any               `yaml:"command"`
	Entrypoint  any               `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// triggerdServices are the services built from deploy/Dockerfile.
func triggerdServices(t *testing.T, c composeFile) map[string]service {
	t.Helper()
	out := map[string]service{}
	for name, s := range c.Services {
		if s.Build != nil && s.Build.Dockerfile == "deploy/Dockerfile" {
			out[name] = s
		}
	}
	if len(out) == 0 {
		t.Fatal("no service builds deploy/Dockerfile")
	}
	return out
}

var defaultedVar = regexp.MustCompile(`^\$\{[A-Z0-9_]+:-([^}]+)\}$`)

// mount is one entry of a service's volumes.
type mount struct {
	host   string // a path relative to the repository, or "" for a named volume
	volume string // the named volume
	target string
}

func mounts(t *testing.T, s service) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		rest := v
		var src string
		if strings.HasPrefix(v, "${") {
			// ${VAR:-default}:target: the source holds a colon itself.
			end := strings.Index(v, "}")
			src, rest = v[:end+1], strings.TrimPrefix(v[end+1:], ":")
		} else {
			src, rest, _ = strings.Cut(v, ":")
		}
		target, _, _ := strings.Cut(rest, ":")
		if src == "" || target == "" {
			t.Errorf("volume %q: want source:target", v)
			continue
		}
		if m := defaultedVar.FindStringSubmatch(src); m != nil {
			src = m[1] // the default is what a fresh checkout mounts
		}
		if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
			out = append(out, mount{host: filepath.Join(repoRoot, src), target: target})
		} else {
			out = append(out, mount{volume: src, target: target})
		}
	}
	return out
}

// hostPath maps a path inside the container to the repository file that
// is mounted there ("" if none).
func hostPath(ms []mount, p string) string {
	for _, m := range ms {
		if m.host == "" {
			continue
		}
		if p == m.target {
			return m.host
		}
		if rel, ok := strings.CutPrefix(p, m.target+"/"); ok {
			return filepath.Join(m.host, rel)
		}
	}
	return ""
}

func commandArgs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("command %v: want a list", v)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i], _ = a.(string)
	}
	return out
}

func environ(s service) []string {
	var out []string
	for k, v := range s.Environment {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// loadDeployConfig loads the config a triggerd service runs with, through
// config.Load, with the service's environment. Paths inside the container
// that are bind mounts are pointed at the repository's files.
func loadDeployConfig(t *testing.T, name string, s service) *config.Config {
	t.Helper()
	args := commandArgs(t, s.Command)
	i := slices.Index(args, "--config")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("service %s: command %v has no --config", name, args)
	}
	ms := mounts(t, s)
	path := hostPath(ms, args[i+1])
	if path == "" {
		t.Fatalf("service %s: --config %s is not a mounted file", name, args[i+1])
	}
	env := environ(s)
	// First pass: learn the container paths of the file keys.
	cfg, _ := config.Load(path, env)
	if cfg == nil {
		t.Fatalf("service %s: cannot read %s", name, path)
	}
	for key, p := range map[string]string{"secrets.file": cfg.Secrets.File, "triggers.path": cfg.Triggers.Path} {
		if p == "" {
			continue
		}
		h := hostPath(ms, p)
		if h == "" {
			t.Errorf("service %s: %s %s is not mounted from the repository", name, key, p)
			continue
		}
		env = append(env, config.EnvName(key)+"="+h)
	}
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("service %s: %s with the compose environment: %v", name, path, err)
	}
	return cfg
}

func TestComposeTriggerdConfigLoads(t *testing.T) {
	c := loadCompose(t)
	known := config.EnvNames()
	cmds := map[string]bool{}
	for name, s := range triggerdServices(t, c) {
		for k := range s.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("service %s: environment %s is not a TRIGGERD_* override of any config key", name, k)
			}
		}
		for _, m := range mounts(t, s) {
			if m.host != "" {
				if _, err := os.Stat(m.host); err != nil {
					t.Errorf("service %s: mounted %s: %v", name, m.host, err)
				}
			} else if _, ok := c.Volumes[m.volume]; !ok {
				t.Errorf("service %s: volume %s is not declared under volumes:", name, m.volume)
			}
		}
		args := commandArgs(t, s.Command)
		if !slices.Contains([]string{"serve", "worker", "ingest"}, args[0]) {
			t.Errorf("service %s: command %q is not serve, worker or ingest", name, args[0])
		}
		cmds[args[0]] = true
		cfg := loadDeployConfig(t, name, s)
		checkAddresses(t, c, name, cfg)
		checkServiceSide(t, c, name, s, cfg)
	}
	if (cmds["worker"] || cmds["ingest"]) && !(cmds["worker"] && cmds["ingest"]) && !cmds["serve"] {
		t.Errorf("compose runs %v: a split topology needs both worker and ingest", cmds)
	}
}

// checkAddresses checks that every service the config points at is a
// compose service listening on that port.
func checkAddresses(t *testing.T, c composeFile, name string, cfg *config.Config) {
	t.Helper()
	addrs := map[string]string{"temporal.address": cfg.Temporal.Address, "redis.address": cfg.Redis.Address}
	for i, b := range cfg.Kafka.Brokers {
		addrs["kafka.brokers["+string(rune('0'+i))+"]"] = b
	}
	for key, raw := range map[string]string{"rabbitmq.url": cfg.RabbitMQ.URL, "store.dsn": cfg.Store.DSN} {
		if raw != "" {
			addrs[key] = urlHost(t, key, raw)
		}
	}
	for db, d := range cfg.Databases {
		addrs["databases."+db+".dsn"] = urlHost(t, db, d.DSN)
	}
	for key, addr := range addrs {
		if addr == "" {
			t.Errorf("service %s: %s is empty: the topology provides it", name, key)
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("service %s: %s %q: %v", name, key, addr, err)
			continue
		}
		target, ok := c.Services[host]
		if !ok {
			t.Errorf("service %s: %s points at %s, which is no compose service", name, key, host)
			continue
		}
		if !listens(target, port) {
			t.Errorf("service %s: %s points at port %s of %s, which neither exposes nor publishes it", name, key, port, host)
		}
	}
	if cfg.Store.Driver != config.StorePostgres {
		t.Errorf("service %s: store.driver %s: every triggerd process must share one PostgreSQL store", name, cfg.Store.Driver)
	}
}

func urlHost(t *testing.T, key, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return ""
	}
	return u.Host
}

func listens(s service, port string) bool {
	if slices.Contains(s.Expose, port) {
		return true
	}
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if parts[len(parts)-1] == port {
			return true
		}
	}
	return false
}

// checkServiceSide checks what the container must provide for its config:
// the API port (trigger API, gate, /healthz, /metrics) and its healthcheck,
// and a volume under every local storage directory.
func checkServiceSide(t *testing.T, c composeFile, name string, s service, cfg *config.Config) {
	t.Helper()
	_, port, err := net.SplitHostPort(cfg.API.Listen)
	if err != nil {
		t.Fatalf("api.listen: %v", err)
	}
	if !listens(s, port) {
		t.Errorf("service %s: api.listen port %s is neither exposed nor published", name, port)
	}
	if args := commandArgs(t, s.Command); args[0] != "worker" && !slices.ContainsFunc(s.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		t.Errorf("service %s serves the trigger API and the gate: publish port %s", name, port)
	}
	if s.Healthcheck == nil || !strings.Contains(strings.Join(s.Healthcheck.Test, " "), ":"+port+"/healthz") {
		t.Errorf("service %s: want a healthcheck of /healthz on port %s", name, port)
	}
	for b, bucket := range cfg.Storage {
		if bucket.Driver != config.StorageLocal {
			continue
		}
		if !slices.ContainsFunc(mounts(t, s), func(m mount) bool {
			return m.volume != "" && (bucket.Dir == m.target || strings.HasPrefix(bucket.Dir, m.target+"/"))
		}) {
			t.Errorf("service %s: storage.%s.dir %s is on no volume: its files would die with the container", name, b, bucket.Dir)
		}
	}
	if cfg.Secrets.File != "" {
		// loadDeployConfig pointed secrets.file at the mounted repository file.
		h := cfg.Secrets.File
		f := secrets.NewFile(h)
		if _, ok, err := f.Lookup("WEBHOOK_TOKEN"); err != nil || !ok {
			t.Errorf("service %s: secrets file %s: WEBHOOK_TOKEN found=%v err=%v", name, h, ok, err)
		}
	}
}

// composeConnector is deploy/debezium/postgres-connector.json: the body of
// Kafka Connect's PUT /connectors/<name>/config, name included
// (deploy/connect-init.sh).
func composeConnector(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/debezium/postgres-connector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cc map[string]string
	if err := json.Unmarshal(b, &cc); err != nil {
		t.Fatalf("connector: want a flat object of strings: %v", err)
	}
	if cc["name"] == "" {
		t.Fatal("connector: no name")
	}
	return cc
}

func TestDebeziumConnectorMatchesConsumedTopics(t *testing.T) {
	c := loadCompose(t)
	cc := composeConnector(t)
	prefix := cc["topic.prefix"]
	if prefix == "" {
		t.Fatal("connector: topic.prefix is empty")
	}
	// Ingest reads each event's transaction block (cascade markers,
	// batching by transaction): Debezium adds it only with transaction
	// metadata on.
	if cc["provide.transaction.metadata"] != "true" {
		t.Errorf("connector: provide.transaction.metadata = %q, want true", cc["provide.transaction.metadata"])
	}
	pg, ok := c.Services[cc["database.hostname"]]
	if !ok {
		t.Errorf("connector: database.hostname %s is no compose service", cc["database.hostname"])
	} else {
		if !listens(pg, cc["database.port"]) {
			t.Errorf("connector: database.port %s is not a port of %s", cc["database.port"], cc["database.hostname"])
		}
		if db := pg.Environment["POSTGRES_DB"]; db != cc["database.dbname"] {
			t.Errorf("connector: database.dbname %s, but the database is %s", cc["database.dbname"], db)
		}
	}
	var captured []string
	for tbl := range strings.SplitSeq(cc["table.include.list"], ",") {
		captured = append(captured, prefix+"."+strings.TrimSpace(tbl))
	}
	created := kafkaInitTopics(t, c)
	for name, s := range triggerdServices(t, c) {
		cfg := loadDeployConfig(t, name, s)
		if cfg.Kafka.TopicPattern != "" {
			re := regexp.MustCompile(cfg.Kafka.TopicPattern)
			for _, topic := range captured {
				if !re.MatchString(topic) {
					t.Errorf("service %s: kafka.topicPattern %s misses Debezium topic %s", name, cfg.Kafka.TopicPattern, topic)
				}
			}
			continue
		}
		for _, topic := range captured {
			if !slices.Contains(cfg.Kafka.Topics, topic) {
				t.Errorf("service %s: kafka.topics %v misses Debezium topic %s", name, cfg.Kafka.Topics, topic)
			}
		}
		for _, topic := range cfg.Kafka.Topics {
			if strings.HasPrefix(topic, prefix+".") && !slices.Contains(captured, topic) && topic != prefix+".transaction" {
				t.Errorf("service %s: kafka.topics has %s, which the connector does not capture (table.include.list %s)", name, topic, cc["table.include.list"])
			}
			if !slices.Contains(created, topic) {
				t.Errorf("service %s: topic %s is not created by kafka-init", name, topic)
			}
		}
		if !slices.Contains(created, cfg.Kafka.DLQTopic) {
			t.Errorf("service %s: kafka.dlqTopic %s is not created by kafka-init", name, cfg.Kafka.DLQTopic)
		}
	}
	if !slices.Contains(created, prefix+".transaction") {
		t.Errorf("kafka-init does not create the transaction metadata topic %s.transaction", prefix)
	}
}

// kafkaInitTopics are the topics of kafka-init's "for t in ...; do" loop.
func kafkaInitTopics(t *testing.T, c composeFile) []string {
	t.Helper()
	s, ok := c.Services["kafka-init"]
	if !ok {
		t.Fatal("no kafka-init service")
	}
	m := regexp.MustCompile(`for t in ([^;]+);`).FindStringSubmatch(strings.Join(commandArgs(t, s.Command), "\n"))
	if m == nil {
		t.Fatal("kafka-init: no topic loop")
	}
	return strings.Fields(m[1])
}

// TestDockerfileServesHealthcheck: the image the triggerd services build
// has what their healthcheck runs, and exposes the API port.
func TestDockerfileServesHealthcheck(t *testing.T) {
	c := loadCompose(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(string(b), -1)
	runtime := stages[len(stages)-1][1]
	for name, s := range triggerdServices(t, c) {
		cfg := loadDeployConfig(t, name, s)
		_, port, _ := net.SplitHostPort(cfg.API.Listen)
		if !strings.Contains(string(b), "EXPOSE "+port) {
			t.Errorf("deploy/Dockerfile does not EXPOSE %s (api.listen)", port)
		}
		if s.Healthcheck != nil && slices.ContainsFunc(s.Healthcheck.Test, func(a string) bool { return strings.HasPrefix(a, "/busybox/") }) && !strings.Contains(runtime, "debug") {
			t.Errorf("service %s: healthcheck runs busybox, but the runtime image %s has none (use a distroless :debug variant)", name, runtime)
		}
	}
}
