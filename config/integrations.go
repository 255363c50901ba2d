package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Integration is an app of the action.execute action, Ductape's
// Trigger.action.execute('stripe', 'refund-payment', {...}):
//
//	integrations:
//	  stripe:
//	    baseUrl: https://api.stripe.com/v1
//	    auth: {type: bearer, token: "{{secret.STRIPE_KEY}}"}
//	    operations:
//	      refund-payment:
//	        method: POST
//	        path: /refunds
//	        body: {payment_intent: "{{paymentIntentId}}", amount: "{{amount}}"}
//
// Placeholders in path, headers, query and body name the action's input.
// Credentials may be {{secret.NAME}}: cmd resolves them at start-up (this
// package only reads them).
type Integration struct {
	BaseURL    string               `yaml:"baseUrl"`
	Auth       Auth                 `yaml:"auth"`
	Operations map[string]Operation `yaml:"operations"`
	// Timeout bounds each request (default: the action's timeout).
	Timeout time.Duration `yaml:"timeout"`
	// Egress adds rules to the process's egress policy for this app's
	// requests (and its OAuth2 token endpoint).
	Egress Egress `yaml:"egress"`
}

// Operation maps a named operation to one HTTP request. Without body, the
// input is the body of requests that have one.
type Operation struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Headers map[string]string `yaml:"headers"`
	Query   map[string]string `yaml:"query"`
	Body    any               `yaml:"body"`
	// BodyType encodes the body as the http action's bodyType does: json
	// (the default), form (application/x-www-form-urlencoded, as Stripe's
	// API takes) or raw (a string sent as is). ContentType overrides the
	// Content-Type it implies.
	BodyType    string `yaml:"bodyType"`
	ContentType string `yaml:"contentType"`
}

// Body types of Operation.BodyType (the http action's).
const (
	BodyJSON = "json"
	BodyForm = "form"
	BodyRaw  = "raw"
)

// Agent is an LLM of agent.run behind an OpenAI-compatible chat
// completions API (URL is the API base; the action posts to
// URL/chat/completions):
//
//	agents:
//	  support-agent: {url: https://api.openai.com/v1, model: gpt-4o-mini, apiKey: "{{secret.OPENAI_KEY}}"}
type Agent struct {
	URL         string        `yaml:"url"`
	Model       string        `yaml:"model"`
	APIKey      string        `yaml:"apiKey"`
	System      string        `yaml:"system"`
	MaxTokens   int           `yaml:"maxTokens"`
	Temperature *float64      `yaml:"temperature"`
	Timeout     time.Duration `yaml:"timeout"`
	// Egress adds rules to the process's egress policy for this agent.
	Egress Egress `yaml:"egress"`
}

var operationMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (c *Config) validateApps(v *validator) {
	c.Notifications.validate(v)
	for _, name := range slices.Sorted(maps.Keys(c.Integrations)) {
		in := c.Integrations[name]
		field := "integrations." + name
		v.httpURL(field+".baseUrl", in.BaseURL)
		v.auth(field+".auth", in.Auth)
		if in.Timeout < 0 {
			v.add(field+".timeout", "must not be negative, got %s", in.Timeout)
		}
		if len(in.Operations) == 0 {
			v.add(field+".operations", "must name at least one operation")
		}
		for _, opName := range slices.Sorted(maps.Keys(in.Operations)) {
			op := in.Operations[opName]
			of := field + ".operations." + opName
			if op.Method != "" {
				v.oneOf(of+".method", strings.ToUpper(op.Method), operationMethods...)
			}
			if !strings.HasPrefix(op.Path, "/") {
				v.add(of+".path", "must start with /, got %q", op.Path)
			}
			v.placeholders(of+".path", op.Path)
			v.operationBody(of, op)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Agents)) {
		ag := c.Agents[name]
		field := "agents." + name
		v.httpURL(field+".url", ag.URL)
		v.required(field+".model", ag.Model)
		if ag.MaxTokens < 0 {
			v.add(field+".maxTokens", "must not be negative, got %d", ag.MaxTokens)
		}
		if ag.Temperature != nil && (*ag.Temperature < 0 || *ag.Temperature > 2) {
			v.add(field+".temperature", "must be 0..2, got %g", *ag.Temperature)
		}
		if ag.Timeout < 0 {
			v.add(field+".timeout", "must not be negative, got %s", ag.Timeout)
		}
	}
}

// httpURL checks an absolute http(s) URL. A bad URL's text is not quoted:
// it may hold credentials.
func (v *validator) httpURL(field, s string) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		v.add(field, "must not be empty")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.add(field, "must be an absolute http or https URL")
	}
}

// AppOperation reports whether the integration app has the operation.
func (c *Config) AppOperation(app, op string) error {
	in, ok := c.Integrations[app]
	if !ok {
		return fmt.Errorf("no integration %q in the config (integrations.%s)", app, app)
	}
	if _, ok := in.Operations[op]; !ok {
		return fmt.Errorf("integration %q has no operation %q (integrations.%s.operations.%s)", app, op, app, op)
	}
	return nil
}
