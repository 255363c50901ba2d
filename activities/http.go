package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/webhooksign"
)

// maxResponseBody caps the response body kept in the output (and so in the
// workflow history) unless maxResponseBytes says otherwise; it never
// exceeds maxResponseBodyLimit, as Temporal refuses payloads over a few MB.
const (
	maxResponseBody      = 64 << 10
	maxResponseBodyLimit = 1 << 20
	// maxRedirects bounds followRedirects, as net/http's default does.
	maxRedirects = 10
)

// errTooManyRedirects ends a followRedirects chain longer than
// maxRedirects: a loop, which no retry will break.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)

// Body types of the http action.
const (
	BodyJSON = "json"
	BodyForm = "form"
	BodyRaw  = "raw"
)

// responseHeaders are the response headers copied into the output; the
// rest rarely matter to a later action and would bloat the history.
var responseHeaders = []string{"Content-Type", "Etag", "Location", "Retry-After", "X-Request-Id"}

// HTTPConfig is the config of the http action.
type HTTPConfig struct {
	Method  string         `json:"method,omitempty"`
	URL     string         `json:"url"`
	Headers map[string]any `json:"headers,omitempty"`
	Query   map[string]any `json:"query,omitempty"`
	// Body is encoded as BodyType says: json (the default for anything but
	// a string), form (a mapping sent as application/x-www-form-urlencoded)
	// or raw (a string sent as is, the default for a string).
	Body     any    `json:"body,omitempty"`
	BodyType string `json:"bodyType,omitempty"`
	// ContentType overrides the Content-Type the body type implies.
	ContentType string `json:"contentType,omitempty"`
	// Timeout is milliseconds or a duration string, as elsewhere in
	// trigger definitions.
	Timeout Millis `json:"timeout,omitempty"`
	// FollowRedirects follows up to 10 redirects; off by default, a 3xx
	// then fails the action without retry.
	FollowRedirects bool `json:"followRedirects,omitempty"`
	// IdempotencyHeader renames the Idempotency-Key header.
	IdempotencyHeader string `json:"idempotencyHeader,omitempty"`
	// ResponseHeaders adds response headers to the output, "*" for all
	// (Set-Cookie never: a session does not belong in a run's history).
	ResponseHeaders []string `json:"responseHeaders,omitempty"`
	// MaxResponseBytes caps the body kept in the output (default 64 KiB,
	// at most 1 MiB).
	MaxResponseBytes int `json:"maxResponseBytes,omitempty"`
	// Sign signs the body with HMAC-SHA256 (package webhooksign).
	Sign *HTTPSign `json:"sign,omitempty"`
}

// HTTPSign is the sign option of the http action. Key is the HMAC key,
// always a {{secret.NAME}} in a definition (validation refuses a literal).
type HTTPSign struct {
	Key string `json:"key"`
	// Header defaults to webhooksign.Header (X-Triggerd-Signature).
	Header string `json:"header,omitempty"`
}

// HTTPOutput is the output of the http action.
type HTTPOutput struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the parsed JSON of a JSON response, else its text.
	Body      any  `json:"body,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// HTTP sends one request and fails unless the response is a 2xx. Its
// connections go through the actions' egress policy (WithEgress).
func (a *Activities) HTTP(ctx context.Context, req run.ActionRequest) (any, error) {
	return a.sendHTTP(ctx, req, nil)
}

// sendHTTP is the http action under policy pol (nil: the actions' own),
// for the actions that send their requests through it.
func (a *Activities) sendHTTP(ctx context.Context, req run.ActionRequest, pol *egress.Policy) (any, error) {
	var cfg HTTPConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	hreq, err := buildHTTPRequest(ctx, cfg, req.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout > 0 {
		c, cancel := context.WithTimeout(hreq.Context(), time.Duration(cfg.Timeout))
		defer cancel()
		hreq = hreq.WithContext(c)
	}
	clients := a.clients.get(a.policy(pol))
	client := clients.noFollow
	if cfg.FollowRedirects {
		client = clients.follow
	}
	resp, err := client.Do(hreq)
	if err != nil {
		// *url.Error repeats the full URL, query string (tokens) included;
		// the redacted one below is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, errTooManyRedirects) {
			return nil, permanent(errtype.HTTP3xx, fmt.Errorf("%s %s: %w", hreq.Method, redact(hreq.URL), err))
		}
		if denied, ok := egressDenied(fmt.Errorf("%s %s: %w", hreq.Method, redact(hreq.URL), err)); ok {
			return nil, denied
		}
		return nil, classifyTransport(fmt.Errorf("%s %s: %w", hreq.Method, redact(hreq.URL), err), "")
	}
	defer resp.Body.Close()
	limit := maxResponseBody
	if cfg.MaxResponseBytes > 0 {
		limit = min(cfg.MaxResponseBytes, maxResponseBodyLimit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, classifyTransport(fmt.Errorf("read response of %s %s: %w", hreq.Method, redact(hreq.URL), err), "")
	}
	if err := classifyHTTPStatus(resp.StatusCode, resp.Header, body, time.Now()); err != nil {
		return nil, err
	}
	out := HTTPOutput{Status: resp.StatusCode, Headers: map[string]string{}}
	copyResponseHeaders(out.Headers, resp.Header, cfg.ResponseHeaders)
	if len(body) > limit {
		body, out.Truncated = body[:limit], true
	}
	out.Body = decodeBody(body, resp.Header.Get("Content-Type"), out.Truncated)
	return out, nil
}

func buildHTTPRequest(ctx context.Context, cfg HTTPConfig, idempotencyKey string) (*http.Request, error) {
	method := strings.ToUpper(strings.TrimSpace(cfg.Method))
	if method == "" {
		method = http.MethodPost
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidConfig("url %q: want an absolute http(s) URL", cfg.URL)
	}
	if len(cfg.Query) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(cfg.Query) {
			vals, ok := cfg.Query[k].([]any)
			if !ok {
				vals = []any{cfg.Query[k]}
			}
			for _, v := range vals {
				s, err := stringish(v)
				if err != nil {
					return nil, invalidConfig("query %q: %v", k, err)
				}
				q.Add(k, s)
			}
		}
		u.RawQuery = q.Encode()
	}
	payload, contentType, err := encodeHTTPBody(cfg)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, invalidConfig("request: %v", err)
	}
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	for _, k := range sortedKeys(cfg.Headers) {
		s, err := stringish(cfg.Headers[k])
		if err != nil {
			return nil, invalidConfig("header %q: %v", k, err)
		}
		// net/http refuses these only when sending, as an error that would
		// look transient; no retry changes a header.
		if !validHeaderName(k) {
			return nil, invalidConfig("header name %q is not a valid HTTP token", k)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, invalidConfig("header %q: value holds a line break or NUL (a template rendered one?)", k)
		}
		hreq.Header.Set(k, s)
	}
	// Set last: the key is what makes retries safe, a config cannot drop it.
	idem := cfg.IdempotencyHeader
	if idem == "" {
		idem = "Idempotency-Key"
	}
	hreq.Header.Set(idem, idempotencyKey)
	if cfg.Sign != nil {
		if cfg.Sign.Key == "" {
			return nil, invalidConfig("sign.key is empty")
		}
		h := cfg.Sign.Header
		if h == "" {
			h = webhooksign.Header
		}
		// Signed per attempt: a retry an hour later carries a fresh
		// timestamp, so receivers can keep a short replay tolerance.
		hreq.Header.Set(h, webhooksign.Sign(time.Now(), payload, []byte(cfg.Sign.Key)))
	}
	return hreq, nil
}

// encodeHTTPBody encodes the body as its body type says and returns the
// content type that goes with it (cfg.ContentType when set).
func encodeHTTPBody(cfg HTTPConfig) ([]byte, string, error) {
	if cfg.Body == nil {
		return nil, cfg.ContentType, nil
	}
	typ := cfg.BodyType
	if typ == "" {
		typ = BodyJSON
		if _, isStr := cfg.Body.(string); isStr {
			typ = BodyRaw
		}
	}
	var b []byte
	var ct string
	switch typ {
	case BodyJSON:
		var err error
		if b, err = json.Marshal(cfg.Body); err != nil {
			return nil, "", invalidConfig("body: %v", err)
		}
		ct = "application/json"
	case BodyForm:
		m, ok := cfg.Body.(map[string]any)
		if !ok {
			return nil, "", invalidConfig("body: bodyType form needs a mapping, got %T", cfg.Body)
		}
		vals, err := formValues(m)
		if err != nil {
			return nil, "", err
		}
		b, ct = []byte(vals.Encode()), "application/x-www-form-urlencoded"
	case BodyRaw:
		s, ok := cfg.Body.(string)
		if !ok {
			return nil, "", invalidConfig("body: bodyType raw needs a string, got %T", cfg.Body)
		}
		b, ct = []byte(s), "text/plain; charset=utf-8"
	default:
		return nil, "", invalidConfig("bodyType %q: want json, form or raw", cfg.BodyType)
	}
	if cfg.ContentType != "" {
		ct = cfg.ContentType
	}
	return b, ct, nil
}

// formValues turns a mapping of scalars (or lists of scalars, sent as
// repeated keys) into form values.
func formValues(m map[string]any) (url.Values, error) {
	vals := url.Values{}
	for _, k := range sortedKeys(m) {
		list, ok := m[k].([]any)
		if !ok {
			list = []any{m[k]}
		}
		for _, v := range list {
			s, err := stringish(v)
			if err != nil {
				return nil, invalidConfig("body.%s: %v", k, err)
			}
			vals.Add(k, s)
		}
	}
	return vals, nil
}

// copyResponseHeaders copies the default response headers and those extra
// names ("*": all of them but Set-Cookie) into out.
func copyResponseHeaders(out map[string]string, h http.Header, extra []string) {
	names := responseHeaders
	for _, e := range extra {
		if e == "*" {
			names = slices.Sorted(maps.Keys(h))
			break
		}
		names = append(slices.Clip(names), http.CanonicalHeaderKey(e))
	}
	for _, n := range names {
		if strings.EqualFold(n, "Set-Cookie") {
			continue
		}
		if v := h.Values(n); len(v) > 0 {
			out[http.CanonicalHeaderKey(n)] = strings.Join(v, ", ")
		}
	}
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// decodeBody returns a JSON response parsed, anything else as text.
func decodeBody(body []byte, contentType string, truncated bool) any {
	if len(body) == 0 {
		return nil
	}
	if !truncated && strings.Contains(strings.ToLower(contentType), "json") {
		var v any
		if json.Unmarshal(body, &v) == nil {
			return v
		}
	}
	return string(body)
}

// redact drops the userinfo and query of a URL quoted in an error: they
// may hold credentials, and errors end up in the workflow history.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
