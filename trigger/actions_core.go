package trigger

import (
	"maps"
	"slices"
	"strings"

	"github.com/triggerd/triggerd/secrets"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// Checks of the config keys of the http, cache.*, broker.publish and
// storage.* actions beyond those in actions.go.

// checkKeys refuses keys of the mapping at cfg[key] that are not allowed,
// naming each one's path.
func checkKeys(cfg map[string]any, key, field string, allowed []string, p problems) map[string]any {
	m, ok := cfg[key].(map[string]any)
	if !ok {
		if v, present := cfg[key]; present && v != nil && !isTemplate(v) {
			p.add(template.JoinField(field, key), "must be a mapping")
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !contains(allowed, k) {
			p.add(template.JoinField(template.JoinField(field, key), k), "unknown key (allowed: %s)", strings.Join(allowed, ", "))
		}
	}
	return m
}

// checkOneOf checks that cfg[key], when static, is one of allowed.
func checkOneOf(cfg map[string]any, key, field string, allowed []string, p problems) {
	v, ok := cfg[key]
	if !ok || v == nil || isTemplate(v) {
		return
	}
	if s, isStr := v.(string); !isStr || !contains(allowed, s) {
		p.add(template.JoinField(field, key), "must be one of %s", strings.Join(allowed, ", "))
	}
}

func checkBool(cfg map[string]any, key, field string, p problems) {
	if v, ok := cfg[key]; ok && v != nil && !isTemplate(v) {
		if _, isBool := v.(bool); !isBool {
			p.add(template.JoinField(field, key), "must be true or false")
		}
	}
}

func checkPositiveInt(cfg map[string]any, key, field string, p problems) {
	if v, ok := cfg[key]; ok && v != nil && !isTemplate(v) {
		if f, isNum := value.Number(v); !isNum || f < 1 || f != float64(int64(f)) {
			p.add(template.JoinField(field, key), "must be a positive integer")
		}
	}
}

// checkSecretRef requires cfg[key] to be exactly one {{secret.NAME}}: a key
// written in clear in a definition would be stored, listed and replayed
// with it.
func checkSecretRef(cfg map[string]any, key, field string, p problems) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return
	}
	s, isStr := v.(string)
	if !isStr || !secrets.IsRef(s) {
		p.add(template.JoinField(field, key), "must be a secret reference like {{secret.WEBHOOK_KEY}}, never the key itself")
	}
}

var httpBodyTypes = []string{"json", "form", "raw"}

// checkHTTPMore checks the http keys added with signing and body types.
func checkHTTPMore(cfg map[string]any, field string, p problems) {
	checkHTTP(cfg, field, p)
	checkOneOf(cfg, "bodyType", field, httpBodyTypes, p)
	if bt, _ := cfg["bodyType"].(string); bt == "form" {
		checkMap(cfg, "body", field, p)
	}
	checkStringish(cfg, "contentType", field, p)
	checkStringish(cfg, "idempotencyHeader", field, p)
	checkBool(cfg, "followRedirects", field, p)
	checkPositiveInt(cfg, "maxResponseBytes", field, p)
	if v, ok := cfg["responseHeaders"]; ok && v != nil {
		if _, isList := v.([]any); !isList {
			p.add(template.JoinField(field, "responseHeaders"), "must be a list of header names (or [\"*\"])")
		}
	}
	if sign := checkKeys(cfg, "sign", field, []string{"key", "header"}, p); sign != nil {
		sf := template.JoinField(field, "sign")
		if v, ok := sign["key"]; !ok || v == nil || v == "" {
			p.add(template.JoinField(sf, "key"), "is required")
		}
		checkSecretRef(sign, "key", sf, p)
		checkStringish(sign, "header", sf, p)
	}
}

func checkCacheGet(cfg map[string]any, field string, p problems) {
	checkCache(cfg, field, p)
	checkOneOf(cfg, "as", field, []string{"json", "text"}, p)
}

// checkCacheInvalidate refuses a pattern that matches everything: a
// misrendered "{{record.x}}*" must not empty a whole cache.
func checkCacheInvalidate(cfg map[string]any, field string, p problems) {
	checkCache(cfg, field, p)
	if v, ok := cfg["pattern"]; ok && v != nil {
		s, isStr := v.(string)
		switch {
		case !isStr:
			p.add(template.JoinField(field, "pattern"), "must be a string")
		case strings.Trim(s, "*") == "":
			p.add(template.JoinField(field, "pattern"), "%q matches the whole cache; name a key prefix such as \"user:{{record.id}}:*\"", s)
		}
	}
}

var publishFormats = []string{"json", "raw", "base64"}

// checkPublishMore checks the payload and AMQP options of broker.publish.
// A bare "rabbitmq" target is complete only with exchange or routingKey.
func checkPublishMore(cfg map[string]any, field string, p problems) {
	_, hasEx := cfg["exchange"]
	_, hasRK := cfg["routingKey"]
	target, static := staticString(cfg, "target")
	if static && target == "rabbitmq" && (hasEx || hasRK) {
		cfg2 := make(map[string]any, len(cfg))
		for k, v := range cfg {
			cfg2[k] = v
		}
		delete(cfg2, "target") // addressed by exchange/routingKey
		checkPublish(cfg2, field, p)
	} else {
		checkPublish(cfg, field, p)
	}
	if (hasEx || hasRK) && static && !strings.HasPrefix(target, "rabbitmq") {
		p.add(template.JoinField(field, "exchange"), "exchange and routingKey are for rabbitmq targets")
	}
	checkStringish(cfg, "exchange", field, p)
	checkStringish(cfg, "routingKey", field, p)
	checkStringish(cfg, "contentType", field, p)
	checkOneOf(cfg, "format", field, publishFormats, p)
	if f, _ := cfg["format"].(string); f == "raw" || f == "base64" {
		if m, ok := cfg["message"]; ok && m != nil {
			if _, isStr := m.(string); !isStr {
				p.add(template.JoinField(field, "message"), "must be a string with format %s", f)
			}
		}
	}
	for _, k := range []string{"persistent", "confirm", "mandatory"} {
		checkBool(cfg, k, field, p)
		if _, set := cfg[k]; set && static && strings.HasPrefix(target, "kafka:") {
			// Kafka always waits for all in-sync replicas; a key that
			// changes nothing would mislead whoever reads the trigger.
			p.add(template.JoinField(field, k), "is a RabbitMQ option; Kafka publishes always wait for all in-sync replicas")
		}
	}
}

// checkStoragePaths checks the bucket name and that static object paths
// stay inside the bucket.
func checkStoragePaths(keys ...string) func(cfg map[string]any, field string, p problems) {
	return func(cfg map[string]any, field string, p problems) {
		checkStringish(cfg, "storage", field, p)
		for _, k := range keys {
			checkStringish(cfg, k, field, p)
			s, static := staticString(cfg, k)
			if !static {
				continue
			}
			for _, seg := range strings.Split(strings.TrimPrefix(s, "/"), "/") {
				if seg == ".." {
					p.add(template.JoinField(field, k), "%q leaves the bucket ('..')", s)
					break
				}
			}
		}
	}
}

func checkStorageUpload(cfg map[string]any, field string, p problems) {
	checkStoragePaths("path")(cfg, field, p)
	checkOneOf(cfg, "encoding", field, []string{"text", "base64"}, p)
	checkStringish(cfg, "mimeType", field, p)
	checkStringish(cfg, "dataField", field, p)
	_, hasData := cfg["data"]
	_, hasField := cfg["dataField"]
	if hasData == hasField {
		p.add(field, "storage.upload takes exactly one of data and dataField")
	}
}

// checkNoSecrets refuses {{secret.…}} in the config of actions the
// workflow runs itself (workflow.execute, workflow.dispatch): only the
// activity worker resolves secrets, and a child workflow's input is
// recorded in its history.
func checkNoSecrets(cfg map[string]any, field string, p problems) {
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		if secrets.HasRefs(cfg[k]) {
			p.add(template.JoinField(field, k), "{{secret.…}} is resolved by the activity worker only; this action runs in the workflow, whose history would keep it")
		}
	}
}
