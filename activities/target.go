package activities

import (
	"net/url"
	"strings"

	"github.com/triggerd/triggerd/run"
)

// Target names what a rendered request reaches, so that quotas and circuit
// breakers can be keyed by it without knowing any action: http:<host> for
// HTTP calls and callbacks, the publish target itself (kafka:<topic>,
// rabbitmq:<exchange>/<key>, rabbitmq:<queue>), smtp[:<provider>] for
// email, app:<app>, database:<name>, storage:<name>, cache:<name>,
// agent:<name>, custom:<function>. Actions with no external target (log)
// give "".
func Target(req run.ActionRequest) string {
	str := func(k string) string {
		s, _ := req.Config[k].(string)
		return s
	}
	named := func(prefix, key, def string) string {
		if n := str(key); n != "" {
			return prefix + n
		}
		return prefix + def
	}
	switch {
	case req.Type == run.TypeHTTP || req.Type == run.TypeNotifyCallback:
		u, err := url.Parse(str("url"))
		if err != nil || u.Host == "" {
			return ""
		}
		return "http:" + strings.ToLower(u.Host)
	case req.Type == run.TypePublish:
		return str("target")
	case req.Type == run.TypeNotifyEmail:
		if p := str("provider"); p != "" {
			return "smtp:" + p
		}
		return "smtp"
	case req.Type == run.TypeNotifySMS || req.Type == run.TypeNotifyPush:
		return named(req.Type+":", "provider", "default")
	case req.Type == run.TypeAppAction:
		return named("app:", "app", "")
	case strings.HasPrefix(req.Type, "database."):
		return named("database:", "database", "default")
	case strings.HasPrefix(req.Type, "storage."):
		return named("storage:", "storage", "")
	case strings.HasPrefix(req.Type, "cache."):
		return named("cache:", "cache", "default")
	case req.Type == run.TypeAgentRun:
		return named("agent:", "agent", "")
	case req.Type == run.TypeCustom:
		return named("custom:", "function", "")
	}
	return ""
}
