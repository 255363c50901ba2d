package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
)

// maxResponseBody caps the response body kept in the output (and so in the
// workflow history).
const maxResponseBody = 64 << 10

// responseHeaders are the response headers copied into the output; the
// rest rarely matter to a later action and would bloat the history.
var responseHeaders = []string{"Content-Type", "Etag", "Location", "Retry-After", "X-Request-Id"}

// HTTPConfig is the config of the http action.
type HTTPConfig struct {
	Method  string         `json:"method,omitempty"`
	URL     string         `json:"url"`
	Headers map[string]any `json:"headers,omitempty"`
	Query   map[string]any `json:"query,omitempty"`
	// Body is sent as is when it is a string, JSON-encoded otherwise.
	Body any `json:"body,omitempty"`
	// Timeout is milliseconds or a duration string, as elsewhere in
	// trigger definitions.
	Timeout Millis `json:"timeout,omitempty"`
}

// HTTPOutput is the output of the http action.
type HTTPOutput struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the parsed JSON of a JSON response, else its text.
	Body      any  `json:"body,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// HTTP sends one request and fails unless the response is a 2xx.
func (a *Activities) HTTP(ctx context.Context, req run.ActionRequest) (any, error) {
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
	resp, err := a.http.Do(hreq)
	if err != nil {
		// *url.Error repeats the full URL, query string (tokens) included;
		// the redacted one below is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, classifyTransport(fmt.Errorf("%s %s: %w", hreq.Method, redact(hreq.URL), err), "")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, classifyTransport(fmt.Errorf("read response of %s %s: %w", hreq.Method, redact(hreq.URL), err), "")
	}
	if err := classifyHTTPStatus(resp.StatusCode, resp.Header, body, time.Now()); err != nil {
		return nil, err
	}
	out := HTTPOutput{Status: resp.StatusCode, Headers: map[string]string{}}
	for _, h := range responseHeaders {
		if v := resp.Header.Get(h); v != "" {
			out.Headers[h] = v
		}
	}
	if len(body) > maxResponseBody {
		body, out.Truncated = body[:maxResponseBody], true
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
	var body io.Reader
	contentType := ""
	if cfg.Body != nil {
		b, isJSON, err := encodeValue(cfg.Body)
		if err != nil {
			return nil, invalidConfig("body: %v", err)
		}
		body = bytes.NewReader(b)
		contentType = "text/plain; charset=utf-8"
		if isJSON {
			contentType = "application/json"
		}
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
		hreq.Header.Set(k, s)
	}
	// Set last: the key is what makes retries safe, a config cannot drop it.
	hreq.Header.Set("Idempotency-Key", idempotencyKey)
	return hreq, nil
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
