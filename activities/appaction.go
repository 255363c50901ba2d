package activities

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/triggerd/triggerd/run"
)

// TypeAppAction is Ductape's Trigger.action.execute(app, operation, input).
const TypeAppAction = "action.execute"

// Auth types of IntegrationAuth.Type.
const (
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "apiKey"
	AuthOAuth2 = "oauth2"
)

// IntegrationAuth authenticates the requests of one app.
type IntegrationAuth struct {
	Type     string
	Token    string // bearer
	Username string // basic
	Password string // basic
	Header   string // apiKey: the header (default X-API-Key)
	Key      string // apiKey
	// OAuth2 client credentials; the token is cached until it expires.
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// Operation is one named request of an app. Path, header and query values
// hold {{input.x}} placeholders rendered with the action's input.
type Operation struct {
	Method  string
	Path    string
	Headers map[string]string
	Query   map[string]string
}

// Integration is an app the action.execute action can call.
type Integration struct {
	BaseURL    string
	Auth       IntegrationAuth
	Operations map[string]Operation
}

// WithIntegrations enables action.execute with these apps by name.
func WithIntegrations(apps map[string]Integration) Option {
	return func(a *Activities) {
		a.integrations = &integrations{apps: apps, tokens: map[string]oauth2.TokenSource{}}
	}
}

// integrations holds the apps and their OAuth2 token sources, built on
// first use and kept so that tokens are reused until they expire.
type integrations struct {
	apps   map[string]Integration
	mu     sync.Mutex
	tokens map[string]oauth2.TokenSource
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
	if a.integrations == nil {
		return nil, notConfigured("integrations")
	}
	app, ok := a.integrations.apps[cfg.App]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("app %q", cfg.App))
	}
	op, ok := app.Operations[cfg.Operation]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("operation %q of app %q", cfg.Operation, cfg.App))
	}
	vars := map[string]any{"input": cfg.Input}
	path := renderPath(op.Path, vars)
	headers := map[string]any{}
	for k, v := range op.Headers {
		headers[k] = renderMessage(v, vars)
	}
	auth, err := a.authHeader(cfg.App, app.Auth)
	if err != nil {
		return nil, err
	}
	if auth[0] != "" {
		headers[auth[0]] = auth[1]
	}
	query := map[string]any{}
	for k, v := range op.Query {
		query[k] = renderMessage(v, vars)
	}
	method := op.Method
	if method == "" {
		method = http.MethodPost
	}
	hcfg := map[string]any{
		"method": method, "url": strings.TrimRight(app.BaseURL, "/") + path,
		"headers": headers, "query": query,
	}
	// The input is the body of requests that have one.
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete && cfg.Input != nil {
		hcfg["body"] = cfg.Input
	}
	return a.HTTP(ctx, run.ActionRequest{Config: hcfg, IdempotencyKey: req.IdempotencyKey})
}

// renderPath renders a path template, escaping each value as a path
// segment so that an input cannot change the route.
func renderPath(tpl string, vars map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		return url.PathEscape(renderMessage(m, vars))
	})
}

// authHeader returns the header name and value authenticating app.
func (a *Activities) authHeader(name string, au IntegrationAuth) ([2]string, error) {
	switch au.Type {
	case "":
		return [2]string{}, nil
	case AuthBearer:
		return [2]string{"Authorization", "Bearer " + au.Token}, nil
	case AuthBasic:
		return [2]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(au.Username+":"+au.Password))}, nil
	case AuthAPIKey:
		h := au.Header
		if h == "" {
			h = "X-API-Key"
		}
		return [2]string{h, au.Key}, nil
	case AuthOAuth2:
		tok, err := a.oauthToken(name, au)
		if err != nil {
			return [2]string{}, err
		}
		return [2]string{"Authorization", "Bearer " + tok}, nil
	default:
		return [2]string{}, invalidConfig("app %q: unknown auth type %q", name, au.Type)
	}
}

// oauthToken returns a client-credentials token of app name, fetching a
// new one only when the cached one expired.
func (a *Activities) oauthToken(name string, au IntegrationAuth) (string, error) {
	in := a.integrations
	in.mu.Lock()
	ts, ok := in.tokens[name]
	if !ok {
		cc := clientcredentials.Config{ClientID: au.ClientID, ClientSecret: au.ClientSecret, TokenURL: au.TokenURL, Scopes: au.Scopes}
		// The source outlives this call, so it gets a context of its own;
		// it carries the worker's HTTP client.
		ts = cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, a.http))
		in.tokens[name] = ts
	}
	in.mu.Unlock()
	tok, err := ts.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			if cerr := classifyHTTPStatus(re.Response.StatusCode, re.Response.Header, re.Body, time.Now()); cerr != nil {
				return "", cerr
			}
		}
		return "", classifyTransport(fmt.Errorf("app %q: oauth2 token: %w", name, err), "")
	}
	return tok.AccessToken, nil
}
