package trigger

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/triggerd/triggerd/trigger/template"
)

// Checks of the notification.*, action.execute and agent.run configs. The
// names they hold (templates, apps, agents) live in the worker's config,
// which a definition cannot see.

// checkNotificationName checks "notification_tag:message_tag".
func checkNotificationName(cfg map[string]any, field string, p problems) {
	v, ok := cfg["notification"]
	if !ok || v == nil {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		p.add(template.JoinField(field, "notification"), "must be a string")
		return
	}
	if isTemplate(s) || s == "" {
		return
	}
	tag, msg, found := strings.Cut(s, ":")
	if !found || tag == "" || msg == "" || strings.Contains(msg, ":") {
		p.add(template.JoinField(field, "notification"), "%q must be notification_tag:message_tag", s)
	}
}

// checkNotification checks the recipient list key and the variable maps.
func checkNotification(recipients string, maps ...string) func(map[string]any, string, problems) {
	return func(cfg map[string]any, field string, p problems) {
		checkNotificationName(cfg, field, p)
		for _, k := range maps {
			checkMap(cfg, k, field, p)
		}
		if v, ok := cfg["subject"]; ok && v != nil {
			switch v.(type) {
			case string, map[string]any:
			default:
				p.add(template.JoinField(field, "subject"), "must be a string (the subject) or a mapping (its template's variables)")
			}
		}
		checkStringList(cfg, recipients, field, p)
	}
}

// checkStringList accepts a string (one recipient, or a template that
// renders a list) or a list of strings.
func checkStringList(cfg map[string]any, key, field string, p problems) {
	switch v := cfg[key].(type) {
	case nil, string:
	case []any:
		if len(v) == 0 {
			p.add(template.JoinField(field, key), "must not be empty")
		}
		for i, e := range v {
			if _, ok := e.(string); !ok {
				p.add(fmt.Sprintf("%s[%d]", template.JoinField(field, key), i), "must be a string")
			}
		}
	default:
		p.add(template.JoinField(field, key), "must be a string or a list of strings")
	}
}

func checkCallback(cfg map[string]any, field string, p problems) {
	checkNotificationName(cfg, field, p)
	cb, ok := cfg["callback"].(map[string]any)
	if !ok {
		if cfg["callback"] != nil && !isTemplate(cfg["callback"]) {
			p.add(template.JoinField(field, "callback"), "must be a mapping with body and headers")
		}
		return
	}
	cf := template.JoinField(field, "callback")
	for _, k := range slices.Sorted(maps.Keys(cb)) {
		if k != "body" && k != "headers" {
			p.add(template.JoinField(cf, k), "unknown key for notification.callback (allowed: body, headers)")
		}
	}
	checkMap(cb, "headers", cf, p)
}

func checkAppAction(cfg map[string]any, field string, p problems) {
	checkStringish(cfg, "app", field, p)
	checkStringish(cfg, "operation", field, p)
	checkMap(cfg, "input", field, p)
}

func checkAgent(cfg map[string]any, field string, p problems) {
	checkStringish(cfg, "agent", field, p)
	if v, ok := cfg["prompt"]; ok && v != nil {
		if _, isStr := v.(string); !isStr {
			p.add(template.JoinField(field, "prompt"), "must be a string")
		}
	}
	checkMap(cfg, "data", field, p)
}
