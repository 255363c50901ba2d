package gate

import (
	"context"
	"errors"

	"github.com/triggerd/triggerd/trigger"
)

// Secrets resolves the {{secret.NAME}} placeholders of a lookup's config
// (*secrets.Resolver has it): it returns the resolved copy and a function
// masking the values it used, nil when the config names no secret.
type Secrets interface {
	Resolve(v any) (resolved any, redact func(string) string, err error)
}

// WithSecrets returns a Lookuper that resolves the {{secret.NAME}}
// placeholders of each lookup's config (a bearer token in a header, a key
// in the URL) through s just before next performs it. The gate writes no
// Temporal history, so it resolves in process; but its answers (the 422's
// messages, the trace) and logs go back to the application, so the
// values are masked in the lookup's error and in its result, which rules
// read and may copy into a record or a message.
func WithSecrets(next trigger.Lookuper, s Secrets) trigger.Lookuper {
	return secretLookups{next: next, s: s}
}

type secretLookups struct {
	next trigger.Lookuper
	s    Secrets
}

func (l secretLookups) Lookup(ctx context.Context, kind string, cfg map[string]any) (any, error) {
	resolved, redact, err := l.s.Resolve(cfg)
	if err != nil {
		// Names the secret, never a value: no value was read.
		return nil, err
	}
	if redact == nil {
		// Most lookups name no secret: nothing to mask.
		return l.next.Lookup(ctx, kind, cfg)
	}
	rcfg, _ := resolved.(map[string]any)
	out, err := l.next.Lookup(ctx, kind, rcfg)
	if err != nil {
		// A transport error quotes the URL; a driver error may quote the
		// query. The cause chain is dropped with the message.
		return nil, errors.New(redact(err.Error()))
	}
	return redactValue(out, redact), nil
}

// redactValue masks the strings of a lookup result (maps and lists of
// decoded JSON or SQL values), so an API that echoes its Authorization
// header does not hand the token to the rules.
func redactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[redact(k)] = redactValue(e, redact)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, redact)
		}
		return out
	}
	return v
}
