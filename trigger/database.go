package trigger

import (
	"strings"

	"github.com/triggerd/triggerd/trigger/template"
)

// checkDatabase returns the check of a database.* action whose row data is
// under key ("values" or "set", or "data", Ductape's name for both; "" for
// delete, which has none). Table and column names are checked against the
// database's catalog at run time; here only their shape is.
func checkDatabase(key string) func(cfg map[string]any, field string, p problems) {
	return func(cfg map[string]any, field string, p problems) {
		for _, k := range []string{"database", "table", "idempotencyColumn"} {
			if v, ok := cfg[k]; ok && v != nil {
				if _, isStr := v.(string); !isStr {
					p.add(template.JoinField(field, k), "must be a string")
				}
			}
		}
		if s, static := staticString(cfg, "table"); static && s != "" {
			if parts := strings.Split(s, "."); len(parts) > 2 || contains(parts, "") {
				p.add(template.JoinField(field, "table"), "%q: want name or schema.name", s)
			}
		}
		if key != "" {
			ours, dk := cfg[key], cfg["data"]
			switch {
			case ours != nil && dk != nil:
				p.add(template.JoinField(field, "data"), "is the same as %s: set one", key)
			case ours == nil && dk == nil:
				p.add(template.JoinField(field, key), "is required")
			}
			checkNonEmptyMap(cfg, key, field, p)
			checkNonEmptyMap(cfg, "data", field, p)
		}
		// An update or delete without a filter would hit every row.
		checkNonEmptyMap(cfg, "where", field, p)
		checkColumnList(cfg, "returning", field, p)
		checkColumnList(cfg, "conflict", field, p)
	}
}

func checkNonEmptyMap(cfg map[string]any, key, field string, p problems) {
	v, ok := cfg[key]
	if !ok || v == nil || isTemplate(v) {
		return
	}
	m, isMap := v.(map[string]any)
	switch {
	case !isMap:
		p.add(template.JoinField(field, key), "must be a mapping of column to value")
	case len(m) == 0:
		p.add(template.JoinField(field, key), "must not be empty")
	}
}

func checkColumnList(cfg map[string]any, key, field string, p problems) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return
	}
	list, isList := v.([]any)
	if !isList {
		p.add(template.JoinField(field, key), "must be a list of column names")
		return
	}
	if len(list) == 0 && key == "conflict" {
		p.add(template.JoinField(field, key), "must list the columns of a unique key")
	}
	for _, c := range list {
		if s, isStr := c.(string); !isStr || s == "" {
			p.add(template.JoinField(field, key), "must be a list of column names")
			return
		}
	}
}
