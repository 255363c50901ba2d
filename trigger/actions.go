package trigger

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// actionType describes one action type's config. Adding an action type is
// one entry in actionTypes: the keys it allows, those it requires (present
// and not null or ""), and an optional check of their values.
type actionType struct {
	allowed  []string
	required []string
	// check validates values; field is the config's path, e.g.
	// "actions[0].config". Values holding templates are only known at run
	// time, so checks skip them.
	check func(cfg map[string]any, field string, p problems)
}

// actionTypes is the registry of action types. It is never modified.
var actionTypes = map[string]actionType{
	run.TypeHTTP: {
		allowed:  []string{"method", "url", "headers", "query", "body", "bodyType", "contentType", "timeout", "followRedirects", "idempotencyHeader", "responseHeaders", "maxResponseBytes", "sign"},
		required: []string{"url"},
		check:    checkHTTPMore,
	},
	run.TypePublish: {
		allowed:  []string{"target", "message", "key", "headers", "format", "contentType", "exchange", "routingKey", "persistent", "confirm", "mandatory"},
		required: []string{"target", "message"},
		check:    checkPublishMore,
	},
	run.TypeCacheSet: {
		allowed:  []string{"cache", "key", "value", "ttl"},
		required: []string{"key", "value"},
		check:    checkCacheSet,
	},
	run.TypeCacheDelete: {
		allowed:  []string{"cache", "key"},
		required: []string{"key"},
		check:    checkCache,
	},
	run.TypeCacheGet: {
		allowed:  []string{"cache", "key", "as"},
		required: []string{"key"},
		check:    checkCacheGet,
	},
	run.TypeCacheInvalidate: {
		allowed:  []string{"cache", "pattern"},
		required: []string{"pattern"},
		check:    checkCacheInvalidate,
	},
	run.TypeLog: {
		allowed:  []string{"level", "message", "fields"},
		required: []string{"message"},
		check:    checkLog,
	},
	// database.*: values/set may also be written data, Ductape's name, so
	// their presence is checked by checkDatabase rather than required.
	run.TypeDatabaseInsert: {
		allowed:  []string{"database", "table", "values", "data", "returning", "idempotencyColumn"},
		required: []string{"table"},
		check:    checkDatabase("values"),
	},
	run.TypeDatabaseUpdate: {
		allowed:  []string{"database", "table", "set", "data", "where", "returning"},
		required: []string{"table", "where"},
		check:    checkDatabase("set"),
	},
	run.TypeDatabaseUpsert: {
		allowed:  []string{"database", "table", "values", "data", "conflict", "returning"},
		required: []string{"table", "conflict"},
		check:    checkDatabase("values"),
	},
	run.TypeDatabaseDelete: {
		allowed:  []string{"database", "table", "where", "returning"},
		required: []string{"table", "where"},
		check:    checkDatabase(""),
	},
	run.TypeWorkflowExecute: {
		allowed:  []string{"workflow", "input", "taskQueue", "id", "timeout"},
		required: []string{"workflow"},
		check:    checkNoSecrets,
	},
	run.TypeWorkflowDispatch: {
		allowed:  []string{"workflow", "input", "taskQueue", "id", "timeout"},
		required: []string{"workflow"},
		check:    checkNoSecrets,
	},
	// custom hands its whole rendered config (params included) to the Go
	// function registered under function.
	run.TypeCustom: {
		allowed:  []string{"function", "params"},
		required: []string{"function"},
	},
	run.TypeStorageUpload: {
		allowed:  []string{"storage", "path", "dataField", "data", "encoding", "mimeType"},
		required: []string{"storage", "path"},
		check:    checkStorageUpload,
	},
	run.TypeStorageDelete: {
		allowed:  []string{"storage", "path"},
		required: []string{"storage", "path"},
		check:    checkStoragePaths("path"),
	},
	run.TypeStorageCopy: {
		allowed:  []string{"storage", "from", "to"},
		required: []string{"storage", "from", "to"},
		check:    checkStoragePaths("from", "to"),
	},
	// notification.*, action.execute, agent.run: checks in apps.go.
	run.TypeNotifyEmail: {
		allowed:  []string{"notification", "recipients", "subject", "template", "variables"},
		required: []string{"notification", "recipients"},
		check:    checkNotification("recipients", "template", "variables"),
	},
	run.TypeNotifySMS: {
		allowed:  []string{"notification", "recipients", "body", "variables"},
		required: []string{"notification", "recipients"},
		check:    checkNotification("recipients", "body", "variables"),
	},
	run.TypeNotifyPush: {
		allowed:  []string{"notification", "device_tokens", "title", "body", "data", "variables"},
		required: []string{"notification", "device_tokens"},
		check:    checkNotification("device_tokens", "title", "body", "data", "variables"),
	},
	run.TypeNotifyCallback: {
		allowed:  []string{"notification", "callback"},
		required: []string{"notification", "callback"},
		check:    checkCallback,
	},
	run.TypeAppAction: {
		allowed:  []string{"app", "operation", "input"},
		required: []string{"app", "operation"},
		check:    checkAppAction,
	},
	run.TypeAgentRun: {
		allowed:  []string{"agent", "prompt", "data"},
		required: []string{"agent", "prompt"},
		check:    checkAgent,
	},
}

// actionAliases maps Ductape's log.<level> types to log with that level.
var actionAliases = map[string]struct{ typ, level string }{
	"log.debug": {run.TypeLog, "debug"}, "log.info": {run.TypeLog, "info"}, "log.warn": {run.TypeLog, "warn"},
	"log.error": {run.TypeLog, "error"}, "log.create": {run.TypeLog, "info"},
}

// KnownActionTypes lists the action types the set accepts, sorted.
func KnownActionTypes() []string { return slices.Sorted(maps.Keys(actionTypes)) }

// ActionConfigKeys lists the config keys an action of type typ accepts, in
// the order of their documentation (docs/actions.md); nil for a type the
// language does not accept.
func ActionConfigKeys(typ string) []string {
	return append([]string(nil), actionTypes[typ].allowed...)
}

// normalizeAction resolves aliases: log.error becomes log with level error
// (a level written in the config must agree). It returns a copy.
func normalizeAction(a Action, field string, p problems) Action {
	al, ok := actionAliases[a.Type]
	if !ok {
		return a
	}
	cfg := make(map[string]any, len(a.Config)+1)
	for k, v := range a.Config {
		cfg[k] = v
	}
	if lv, ok := cfg["level"]; ok && lv != nil && lv != al.level {
		p.add(template.JoinField(field, "config.level"), "is %v but type %s sets level %s", lv, a.Type, al.level)
	}
	cfg["level"] = al.level
	a.Type, a.Config = al.typ, cfg
	return a
}

func validateActionConfig(a Action, field string, p problems) {
	spec, ok := actionTypes[a.Type]
	if !ok {
		if a.Type == "" {
			p.add(template.JoinField(field, "type"), "is required")
		} else {
			p.add(template.JoinField(field, "type"), "unknown action type %q (known: %s)", a.Type, strings.Join(KnownActionTypes(), ", "))
		}
		return
	}
	cf := template.JoinField(field, "config")
	for _, k := range slices.Sorted(maps.Keys(a.Config)) {
		if !contains(spec.allowed, k) {
			p.add(template.JoinField(cf, k), "unknown key for %s (allowed: %s)", a.Type, strings.Join(spec.allowed, ", "))
		}
	}
	for _, k := range spec.required {
		if v, ok := a.Config[k]; !ok || v == nil || v == "" {
			p.add(template.JoinField(cf, k), "is required")
		}
	}
	if spec.check != nil {
		spec.check(a.Config, cf, p)
	}
}

func isTemplate(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "{{")
}

// staticString returns v as a string when it is one without templates.
func staticString(cfg map[string]any, key string) (string, bool) {
	s, ok := cfg[key].(string)
	return s, ok && !strings.Contains(s, "{{")
}

func checkMap(cfg map[string]any, key, field string, p problems) {
	if v, ok := cfg[key]; ok && v != nil && !isTemplate(v) {
		if _, ok := v.(map[string]any); !ok {
			p.add(template.JoinField(field, key), "must be a mapping")
		}
	}
}

func checkStringish(cfg map[string]any, key, field string, p problems) {
	if v, ok := cfg[key]; ok && v != nil {
		switch v.(type) {
		case string, int, int64, float64:
		default:
			p.add(template.JoinField(field, key), "must be a string")
		}
	}
}

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func checkHTTP(cfg map[string]any, field string, p problems) {
	if m, ok := cfg["method"]; ok && m != nil {
		s, isStr := m.(string)
		if !isStr || (!isTemplate(s) && !contains(httpMethods, strings.ToUpper(s))) {
			p.add(template.JoinField(field, "method"), "must be one of %s", strings.Join(httpMethods, ", "))
		}
	}
	if _, ok := cfg["url"]; ok {
		if s, static := staticString(cfg, "url"); static && s != "" {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(template.JoinField(field, "url"), "must be an absolute http or https URL")
			}
		} else if _, isStr := cfg["url"].(string); !isStr && cfg["url"] != nil {
			p.add(template.JoinField(field, "url"), "must be a string")
		}
	}
	checkMap(cfg, "headers", field, p)
	checkMap(cfg, "query", field, p)
	if t, ok := cfg["timeout"]; ok && t != nil && !isTemplate(t) {
		if _, err := value.ParseDuration(t); err != nil {
			p.add(template.JoinField(field, "timeout"), "%v", err)
		}
	}
}

// checkPublish validates target: kafka:<topic>, rabbitmq:<exchange>/<key>
// or rabbitmq:<queue> (default exchange, routed by the queue name).
func checkPublish(cfg map[string]any, field string, p problems) {
	checkMap(cfg, "headers", field, p)
	checkStringish(cfg, "key", field, p)
	v, ok := cfg["target"]
	if !ok || v == nil {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		p.add(template.JoinField(field, "target"), "must be a string")
		return
	}
	if isTemplate(s) || s == "" {
		return
	}
	if err := checkTarget(s); err != nil {
		p.add(template.JoinField(field, "target"), "%v", err)
	}
}

func checkTarget(s string) error {
	scheme, dest, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return fmt.Errorf("%q must be kafka:<topic>, rabbitmq:<exchange>/<routing-key> or rabbitmq:<queue>", s)
	case scheme == "kafka":
		if dest == "" || strings.ContainsAny(dest, "/ ") {
			return fmt.Errorf("%q: kafka target needs a topic name", s)
		}
	case scheme == "rabbitmq":
		ex, key, hasSlash := strings.Cut(dest, "/")
		if dest == "" || (hasSlash && (ex == "" || key == "")) {
			return fmt.Errorf("%q: rabbitmq target needs <exchange>/<routing-key> or <queue>", s)
		}
	default:
		return fmt.Errorf("%q: unknown broker %q (want kafka or rabbitmq)", s, scheme)
	}
	return nil
}

func checkCache(cfg map[string]any, field string, p problems) {
	checkStringish(cfg, "key", field, p)
	if v, ok := cfg["cache"]; ok && v != nil {
		if _, isStr := v.(string); !isStr {
			p.add(template.JoinField(field, "cache"), "must be a string")
		}
	}
}

// checkCacheSet also checks ttl: Ductape passes seconds, so a number is
// seconds here (unlike retry delays); a duration string is accepted too.
func checkCacheSet(cfg map[string]any, field string, p problems) {
	checkCache(cfg, field, p)
	v, ok := cfg["ttl"]
	if !ok || v == nil || isTemplate(v) {
		return
	}
	if s, isStr := v.(string); isStr {
		if _, err := value.ParseDuration(s); err != nil {
			p.add(template.JoinField(field, "ttl"), "must be seconds as a number or a duration string like \"1h\"")
		}
		return
	}
	if f, ok := value.Number(v); !ok || f < 0 {
		p.add(template.JoinField(field, "ttl"), "must be a non-negative number of seconds or a duration string like \"1h\"")
	}
}

var logLevels = []string{"debug", "info", "warn", "error"}

func checkLog(cfg map[string]any, field string, p problems) {
	checkMap(cfg, "fields", field, p)
	if v, ok := cfg["level"]; ok && v != nil && !isTemplate(v) {
		s, _ := v.(string)
		if !contains(logLevels, s) {
			p.add(template.JoinField(field, "level"), "must be one of %s", strings.Join(logLevels, ", "))
		}
	}
}
