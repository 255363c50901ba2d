package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Resolver resolves secret names against its sources, the first that
// holds a name winning.
type Resolver struct {
	sources []Source
	redact  bool
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithRedaction turns redaction of outputs and errors on (the default) or
// off. Off exists for tests that prove redaction is what keeps a value
// out of a history; never turn it off in a deployment.
func WithRedaction(on bool) Option { return func(r *Resolver) { r.redact = on } }

// NewResolver returns a Resolver over sources, e.g. Env{} then a File.
func NewResolver(sources []Source, opts ...Option) *Resolver {
	r := &Resolver{sources: sources, redact: true}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Lookup returns the value of a secret; an unknown secret is an error.
func (r *Resolver) Lookup(name string) (string, error) {
	for _, s := range r.sources {
		v, ok, err := s.Lookup(name)
		if err != nil {
			return "", err
		}
		if ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: secret %s is not set (set %s%s or add it to secrets.file)", ErrUnknown, name, EnvPrefix, name)
}

// ErrUnknown is the error of a secret no source holds.
var ErrUnknown = errors.New("unknown secret")

// Middleware resolves the {{secret.NAME}} placeholders of an action's
// config just before it runs and redacts their values from its output and
// error, so that neither reaches the workflow history. An unknown secret
// fails the action without retry: no retry will define it.
//
// The values reach the action only in its config; the log action also
// masks them in what it logs (Redact with the context it is given).
func (r *Resolver) Middleware() run.Middleware {
	return func(next run.ActionFunc) run.ActionFunc {
		return func(ctx context.Context, req run.ActionRequest) (any, error) {
			if !HasRefs(req.Config) {
				// Most actions name no secret: no copy, no redaction.
				return next(ctx, req)
			}
			used := map[string]string{}
			cfg, err := r.resolve(req.Config, used)
			if errors.Is(err, ErrUnknown) {
				// No retry will define it.
				return nil, temporal.NewNonRetryableApplicationError(err.Error(), errtype.NotConfigured, nil)
			}
			if err != nil {
				// A source that cannot answer now (the secrets file is
				// missing mid-deploy) may answer on the next attempt.
				return nil, temporal.NewApplicationError(err.Error(), errtype.Unclassified)
			}
			if len(used) == 0 {
				return next(ctx, req)
			}
			req.Config = cfg.(map[string]any)
			rd := newRedactor(used)
			out, err := callRecovering(withRedactor(ctx, rd), next, req)
			if !r.redact {
				return out, err
			}
			if err != nil {
				return nil, rd.error(err)
			}
			return rd.output(out)
		}
	}
}

// callRecovering calls next, turning a panic into an error: Temporal
// would otherwise record the panic's message, which may quote a secret,
// before this middleware could redact it.
func callRecovering(ctx context.Context, next run.ActionFunc, req run.ActionRequest) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, temporal.NewApplicationError(fmt.Sprintf("panic: %v\n%s", p, debug.Stack()), errtype.Unclassified)
		}
	}()
	return next(ctx, req)
}

// HasRefs reports whether v (a string, or maps and lists of them, as
// decoded from JSON or YAML) holds a {{secret.…}} anywhere. It does not
// allocate.
func HasRefs(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "{{") && refRE.MatchString(x)
	case map[string]any:
		for _, e := range x {
			if HasRefs(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if HasRefs(e) {
				return true
			}
		}
	}
	return false
}

// resolve returns a copy of v with every placeholder replaced, recording
// each value used.
func (r *Resolver) resolve(v any, used map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		var firstErr error
		out := refRE.ReplaceAllStringFunc(x, func(m string) string {
			name := refRE.FindStringSubmatch(m)[1]
			val, err := r.Lookup(name)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return m
			}
			used[name] = val
			return val
		})
		return out, firstErr
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			re, err := r.resolve(e, used)
			if err != nil {
				return nil, err
			}
			out[k] = re
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			re, err := r.resolve(e, used)
			if err != nil {
				return nil, err
			}
			out[i] = re
		}
		return out, nil
	}
	return v, nil
}

// redactor replaces secret values, and the encodings under which an
// action commonly echoes them (JSON string escapes, URL escapes), with
// Redacted. A value echoed under another encoding (base64 inside a Basic
// auth header, a hash) is not recognised: actions do not put request
// headers in their outputs for that reason.
type redactor struct {
	r *strings.Replacer
}

func newRedactor(used map[string]string) *redactor {
	var forms []string
	for _, v := range used {
		if v == "" {
			continue
		}
		forms = append(forms, v)
		if j, err := json.Marshal(v); err == nil {
			forms = append(forms, string(j[1:len(j)-1]))
		}
		forms = append(forms, url.QueryEscape(v), url.PathEscape(v))
	}
	// Longest first, so a value that contains another is replaced whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	forms = slices.Compact(forms)
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (rd *redactor) String(s string) string { return rd.r.Replace(s) }

// output redacts an action's output through its JSON form, which is what
// Temporal records; an output with nothing to redact is returned as is.
func (rd *redactor) output(out any) (any, error) {
	if out == nil {
		return nil, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		// The converter would fail on it too; say so without the value.
		return nil, temporal.NewNonRetryableApplicationError("output cannot be encoded as JSON", errtype.InvalidConfig, nil)
	}
	red := rd.r.Replace(string(b))
	if red == string(b) {
		return out, nil
	}
	return json.RawMessage(red), nil
}

// error rebuilds err with its message redacted, keeping its type and
// retry behaviour and dropping its cause chain, whose messages could hold
// the value too.
func (rd *redactor) error(err error) error {
	if temporal.IsCanceledError(err) {
		return err
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return temporal.NewApplicationError(rd.String(err.Error()), errtype.Unclassified)
	}
	return temporal.NewApplicationErrorWithOptions(rd.String(appErr.Message()), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		NextRetryDelay: appErr.NextRetryDelay(),
		Category:       appErr.Category(),
	})
}

type redactorKey struct{}

func withRedactor(ctx context.Context, rd *redactor) context.Context {
	return context.WithValue(ctx, redactorKey{}, rd)
}

// Redact masks, in s, the values of the secrets the action running in ctx
// resolved; it returns s unchanged outside the Middleware.
func Redact(ctx context.Context, s string) string {
	if rd, ok := ctx.Value(redactorKey{}).(*redactor); ok {
		return rd.String(s)
	}
	return s
}
