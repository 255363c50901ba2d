package activities

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Auth types of IntegrationAuth.Type.
const (
	AuthNone   = ""
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "apiKey"
	AuthOAuth2 = "oauth2"
)

// DefaultAPIKeyHeader is the header of apiKey auth when none is named.
const DefaultAPIKeyHeader = "X-API-Key"

// IntegrationAuth authenticates the requests of one app or provider.
type IntegrationAuth struct {
	Type     string
	Token    string // bearer
	Username string // basic
	Password string // basic
	Header   string // apiKey: the header (default X-API-Key)
	Key      string // apiKey
	// OAuth2 client credentials; the token is cached until it expires or
	// the API answers 401.
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// Operation is one named request of an app. Path, header, query and body
// values hold {{name}} or {{input.name}} placeholders rendered with the
// action's input.
type Operation struct {
	Method  string
	Path    string
	Headers map[string]string
	Query   map[string]string
	// Body is the request body template; nil sends the input itself
	// (except for GET, HEAD and DELETE, which send none).
	Body any
	// BodyType and ContentType are the http action's: json (the default),
	// form or raw, and an override of the Content-Type.
	BodyType    string
	ContentType string
}

// Integration is an app the action.execute action can call.
type Integration struct {
	BaseURL    string
	Auth       IntegrationAuth
	Operations map[string]Operation
	// Timeout bounds each request (0: the activity's timeout only).
	Timeout time.Duration
	// Egress is the app's own policy (egress.Policy.Extend of the
	// actions'), nil for the actions' policy.
	Egress *egress.Policy
}

// WithIntegrations enables action.execute with these apps by name.
func WithIntegrations(apps map[string]Integration) Option {
	return func(a *Activities) { a.integrations = apps }
}

// tokenCache holds the OAuth2 token sources by app or provider name. A
// source is built on first use and kept, so that its token is reused until
// it expires; renew replaces it after the API refused the token.
type tokenCache struct {
	mu      sync.Mutex
	sources map[string]oauth2.TokenSource
}

func (c *tokenCache) source(name string, au IntegrationAuth, hc *http.Client, renew bool) oauth2.TokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts, ok := c.sources[name]; ok && !renew {
		return ts
	}
	if c.sources == nil {
		c.sources = map[string]oauth2.TokenSource{}
	}
	cc := clientcredentials.Config{
		ClientID: au.ClientID, ClientSecret: au.ClientSecret, TokenURL: au.TokenURL, Scopes: au.Scopes,
	}
	// The source outlives this call, so it gets a context of its own; it
	// carries the worker's HTTP client.
	ts := cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
	c.sources[name] = ts
	return ts
}

// AppActionConfig is the config of action.execute.
type AppActionConfig struct {
	App       string         `json:"app"`
	Operation string         `json:"operation"`
	Input     map[string]any `json:"input,omitempty"`
}

// AppAction calls one operation of a configured app. Its output is the
// http action's.
func (a *Activities) AppAction(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg AppActionConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	app, ok := a.integrations[cfg.App]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("app %q (integrations.%s)", cfg.App, cfg.App))
	}
	op, ok := app.Operations[cfg.Operation]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("operation %q of app %q (integrations.%s.operations.%s)", cfg.Operation, cfg.App, cfg.App, cfg.Operation))
	}
	// {{id}} and {{input.id}} both name input.id.
	vars := mergeVars(cfg.Input, map[string]any{"input": cfg.Input})
	headers := map[string]any{}
	for k, v := range op.Headers {
		headers[k] = renderMessage(v, vars)
	}
	query := map[string]any{}
	for k, v := range op.Query {
		query[k] = renderMessage(v, vars)
	}
	method := strings.ToUpper(op.Method)
	if method == "" {
		method = http.MethodPost
	}
	hcfg := map[string]any{
		"method": method, "url": strings.TrimRight(app.BaseURL, "/") + renderPath(op.Path, vars),
		"headers": headers, "query": query,
	}
	if app.Timeout > 0 {
		hcfg["timeout"] = app.Timeout.String()
	}
	// The http action encodes the body (encodeHTTPBody), so an operation
	// encodes it as an http action with the same keys would.
	if op.BodyType != "" {
		hcfg["bodyType"] = op.BodyType
	}
	if op.ContentType != "" {
		hcfg["contentType"] = op.ContentType
	}
	switch {
	case op.Body != nil:
		hcfg["body"] = renderValue(op.Body, vars)
	case method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete && cfg.Input != nil:
		hcfg["body"] = cfg.Input
	}
	return a.authedHTTP(ctx, "integrations."+cfg.App, app.Auth, app.Egress, req.IdempotencyKey, hcfg)
}

// renderPath renders a path template, escaping each value as a path
// segment so that an input cannot change the route.
func renderPath(tpl string, vars map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		return url.PathEscape(renderMessage(m, vars))
	})
}

// renderValue renders the strings of a body template. A string that is a
// single placeholder takes the value's type (a number stays a number, a
// mapping a mapping), as whole-value templates do in trigger definitions.
func renderValue(v any, vars map[string]any) any {
	switch x := v.(type) {
	case string:
		if m := placeholder.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			val, _ := lookupPath(vars, x[m[2]:m[3]])
			return val
		}
		return renderMessage(x, vars)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = renderValue(e, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = renderValue(e, vars)
		}
		return out
	default:
		return v
	}
}

// authedHTTP sends hcfg through the http action with the auth of name,
// under policy pol (nil: the actions'), the token request included. An
// OAuth2 token refused with 401 (revoked or rotated before it expired) is
// renewed and the request sent once more; a second 401 is final.
func (a *Activities) authedHTTP(ctx context.Context, name string, au IntegrationAuth, pol *egress.Policy, idemKey string, hcfg map[string]any) (any, error) {
	send := func(renew bool) (any, error) {
		h, v, err := a.authHeader(name, au, pol, renew)
		if err != nil {
			return nil, err
		}
		if h != "" {
			headers, _ := hcfg["headers"].(map[string]any)
			if headers == nil {
				headers = map[string]any{}
			}
			headers[h] = v
			hcfg["headers"] = headers
		}
		return a.sendHTTP(ctx, run.ActionRequest{Config: hcfg, IdempotencyKey: idemKey}, pol)
	}
	out, err := send(false)
	if err != nil && au.Type == AuthOAuth2 && httpStatus(err) == http.StatusUnauthorized {
		a.logger.Info("oauth2 token refused, renewing", "integration", name)
		return send(true)
	}
	return out, err
}

// httpStatus is the status of a failed http action ("HTTP 401 ..."), or 0.
func httpStatus(err error) int {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != errtype.HTTP4xx {
		return 0
	}
	f := strings.Fields(appErr.Message())
	if len(f) < 2 || f[0] != "HTTP" {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// authHeader returns the header name and value authenticating name.
func (a *Activities) authHeader(name string, au IntegrationAuth, pol *egress.Policy, renew bool) (string, string, error) {
	switch au.Type {
	case AuthNone:
		return "", "", nil
	case AuthBearer:
		return "Authorization", "Bearer " + au.Token, nil
	case AuthBasic:
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(au.Username+":"+au.Password)), nil
	case AuthAPIKey:
		h := au.Header
		if h == "" {
			h = DefaultAPIKeyHeader
		}
		return h, au.Key, nil
	case AuthOAuth2:
		tok, err := a.tokens.source(name, au, a.clients.get(a.policy(pol)).noFollow, renew).Token()
		if err != nil {
			return "", "", classifyTokenError(name, err)
		}
		return "Authorization", "Bearer " + tok.AccessToken, nil
	default:
		return "", "", invalidConfig("%s: unknown auth type %q", name, au.Type)
	}
}

// classifyTokenError types a failed token request like an http action's
// failure: a refused client (400/401) is permanent, 429/5xx and transport
// failures retryable.
func classifyTokenError(name string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		if cerr := classifyHTTPStatus(re.Response.StatusCode, re.Response.Header, re.Body, time.Now()); cerr != nil {
			var appErr *temporal.ApplicationError
			if errors.As(cerr, &appErr) {
				msg := fmt.Sprintf("%s: oauth2 token: %s", name, appErr.Message())
				if appErr.NonRetryable() {
					return permanent(appErr.Type(), errors.New(msg))
				}
				return transient(appErr.Type(), errors.New(msg), appErr.NextRetryDelay())
			}
			return cerr
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = fmt.Errorf("%s: oauth2 token: %w", name, err)
	if denied, ok := egressDenied(err); ok {
		return denied
	}
	return classifyTransport(err, "")
}
