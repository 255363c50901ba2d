package cdctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The shared test connectors that scripts/services/connect.sh registers.
const (
	// Schemas is the connector whose messages carry their Connect schema
	// (JsonConverter schemas.enable=true), with Debezium's default value
	// encodings.
	Schemas = "triggerd-test-schemas"
	// Schemaless is the connector whose messages carry no schema
	// (schemas.enable=false), with decimal.handling.mode=string,
	// time.precision.mode=connect and interval.handling.mode=string.
	Schemaless = "triggerd-test-schemaless"
)

// Connector is a registered connector as Kafka Connect reports it.
type Connector struct {
	// Name is the connector's name (Schemas or Schemaless).
	Name string
	// Config is the connector's configuration.
	Config map[string]string
	// TopicPrefix is Debezium's topic.prefix: a table's changes go to
	// <TopicPrefix>.<schema>.<table>.
	TopicPrefix string
	// SchemaPrefix starts the name of every schema the connector captures
	// (its schema.include.list is SchemaPrefix followed by ".*").
	SchemaPrefix string
	// Database is the PostgreSQL database the connector reads.
	Database string
	// Slot is the connector's replication slot.
	Slot string
	// SignalTable is the schema-qualified table Debezium reads signals from.
	SignalTable string
	// SchemasEnabled tells whether the value converter writes the schema.
	SchemasEnabled bool
}

// TransactionTopic is the topic of the connector's transaction metadata
// (BEGIN and END of every transaction).
func (c Connector) TransactionTopic() string {
	return c.TopicPrefix + "." + c.config("topic.transaction", "transaction")
}

// HeartbeatTopic is the topic of the connector's heartbeat messages.
func (c Connector) HeartbeatTopic() string {
	return c.config("topic.heartbeat.prefix", "__debezium-heartbeat") + "." + c.TopicPrefix
}

func (c Connector) config(key, def string) string {
	if v := c.Config[key]; v != "" {
		return v
	}
	return def
}

// connectClient talks to Kafka Connect's REST API.
type connectClient struct {
	base string
	http *http.Client
}

// connector reads the configuration of a registered connector.
func (c connectClient) connector(ctx context.Context, name string) (Connector, error) {
	var cfg map[string]string
	if err := c.get(ctx, "/connectors/"+url.PathEscape(name)+"/config", &cfg); err != nil {
		return Connector{}, err
	}
	return newConnector(name, cfg)
}

func newConnector(name string, cfg map[string]string) (Connector, error) {
	c := Connector{
		Name:           name,
		Config:         cfg,
		TopicPrefix:    cfg["topic.prefix"],
		Database:       cfg["database.dbname"],
		Slot:           cfg["slot.name"],
		SignalTable:    cfg["signal.data.collection"],
		SchemasEnabled: cfg["value.converter.schemas.enable"] == "true",
	}
	include := cfg["schema.include.list"]
	prefix, ok := strings.CutSuffix(include, ".*")
	if !ok || prefix == "" || strings.ContainsAny(prefix, ".*,|()[]") {
		return Connector{}, fmt.Errorf("connector %s: schema.include.list %q: want <prefix>.* (scripts/services/connect.sh)", name, include)
	}
	c.SchemaPrefix = prefix
	for key, v := range map[string]string{"topic.prefix": c.TopicPrefix, "database.dbname": c.Database, "slot.name": c.Slot} {
		if v == "" {
			return Connector{}, fmt.Errorf("connector %s: %s is empty", name, key)
		}
	}
	return c, nil
}

// status is GET /connectors/<name>/status.
type status struct {
	Connector struct {
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"connector"`
	Tasks []struct {
		ID    int    `json:"id"`
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"tasks"`
}

// running reports whether the connector and all its tasks are RUNNING, and
// else why not.
func (s status) running() (bool, string) {
	if s.Connector.State != "RUNNING" {
		return false, "connector " + s.Connector.State + firstLine(s.Connector.Trace)
	}
	if len(s.Tasks) == 0 {
		return false, "no task"
	}
	for _, t := range s.Tasks {
		if t.State != "RUNNING" {
			return false, fmt.Sprintf("task %d %s%s", t.ID, t.State, firstLine(t.Trace))
		}
	}
	return true, ""
}

func firstLine(trace string) string {
	if trace == "" {
		return ""
	}
	line, _, _ := strings.Cut(trace, "\n")
	return ": " + line
}

func (c connectClient) status(ctx context.Context, name string) (status, error) {
	var s status
	err := c.get(ctx, "/connectors/"+url.PathEscape(name)+"/status", &s)
	return s, err
}

// restartFailed restarts the connector's failed parts (connector or
// tasks).
func (c connectClient) restartFailed(ctx context.Context, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		c.base+"/connectors/"+url.PathEscape(name)+"/restart?includeTasks=true&onlyFailed=true", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kafka connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("kafka connect: restart %s: %s: %s", name, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// errNotFound is a 404 of the REST API: no such connector.
type errNotFound struct{ path string }

func (e errNotFound) Error() string { return "kafka connect: " + e.path + ": not found" }

func (c connectClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kafka connect: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("kafka connect: GET %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errNotFound{path}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("kafka connect: GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("kafka connect: GET %s: %w", path, err)
	}
	return nil
}
