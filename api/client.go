package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls a triggerd API. The CLI uses it; so can programs that
// manage triggers.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithToken authenticates every call with the bearer token (an API token
// or an OIDC token). The server records changes under the token's name.
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// WithHTTPClient sets the HTTP client (for TLS and client certificates:
// its Transport's TLSClientConfig).
func WithHTTPClient(h *http.Client) ClientOption { return func(c *Client) { c.http = h } }

// NewClient returns a client of the API at base (http(s)://host:port).
func NewClient(base string, opts ...ClientOption) *Client {
	c := &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// do sends a request and decodes a 2xx JSON answer into out (if not nil);
// any other status comes back as an *Error.
func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("triggerd API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == nil {
			return &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(data))}
		}
		e.Error.Status = resp.StatusCode
		return e.Error
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// ListOptions filter List; zero values do not filter.
type ListOptions struct {
	Table   string
	Event   string
	Enabled *bool
}

// List returns the live triggers, sorted by tag.
func (c *Client) List(ctx context.Context, o ListOptions) ([]Trigger, error) {
	q := url.Values{}
	if o.Table != "" {
		q.Set("table", o.Table)
	}
	if o.Event != "" {
		q.Set("event", o.Event)
	}
	if o.Enabled != nil {
		q.Set("enabled", strconv.FormatBool(*o.Enabled))
	}
	path := "/v1/triggers"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out TriggerList
	err := c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out.Triggers, err
}

func tagPath(tag string) string { return "/v1/triggers/" + url.PathEscape(tag) }

// Get returns the current version of a trigger.
func (c *Client) Get(ctx context.Context, tag string) (Trigger, error) {
	var t Trigger
	err := c.do(ctx, http.MethodGet, tagPath(tag), nil, nil, &t)
	return t, err
}

// GetVersion returns one version of a trigger.
func (c *Client) GetVersion(ctx context.Context, tag string, version int64) (Trigger, error) {
	var t Trigger
	err := c.do(ctx, http.MethodGet, tagPath(tag)+"/versions/"+strconv.FormatInt(version, 10), nil, nil, &t)
	return t, err
}

// History returns every version of a trigger, oldest first.
func (c *Client) History(ctx context.Context, tag string) ([]Trigger, error) {
	var out VersionList
	err := c.do(ctx, http.MethodGet, tagPath(tag)+"/versions", nil, nil, &out)
	return out.Versions, err
}

// Create creates a trigger from its document.
func (c *Client) Create(ctx context.Context, doc json.RawMessage) (Trigger, error) {
	var t Trigger
	err := c.do(ctx, http.MethodPost, "/v1/triggers", nil, doc, &t)
	return t, err
}

// Put creates the trigger or replaces its document.
func (c *Client) Put(ctx context.Context, tag string, doc json.RawMessage) (Trigger, error) {
	var t Trigger
	err := c.do(ctx, http.MethodPut, tagPath(tag), nil, doc, &t)
	return t, err
}

// Patch applies a JSON merge patch to the trigger's document; ifVersion,
// if not 0, makes it fail with a conflict unless the trigger is at that
// version.
func (c *Client) Patch(ctx context.Context, tag string, patch any, ifVersion int64) (Trigger, error) {
	var hdr http.Header
	if ifVersion != 0 {
		hdr = http.Header{"If-Match": {etag(ifVersion)}}
	}
	var t Trigger
	err := c.do(ctx, http.MethodPatch, tagPath(tag), hdr, patch, &t)
	return t, err
}

// Delete deletes a trigger (its versions stay readable).
func (c *Client) Delete(ctx context.Context, tag string) error {
	return c.do(ctx, http.MethodDelete, tagPath(tag), nil, nil, nil)
}

// Apply makes the server hold docs (and, with prune, nothing else), all
// or nothing.
func (c *Client) Apply(ctx context.Context, docs []json.RawMessage, prune bool) (ApplyResult, error) {
	var out ApplyResult
	err := c.do(ctx, http.MethodPost, "/v1/triggers:apply", nil, ApplyRequest{Triggers: docs, Prune: prune}, &out)
	return out, err
}

// Load makes the server reload its triggers from the store now.
func (c *Client) Load(ctx context.Context) (LoadResult, error) {
	var out LoadResult
	err := c.do(ctx, http.MethodPost, "/v1/triggers/load", nil, nil, &out)
	return out, err
}

// Test dry-runs an event (either envelope, or {"event": ...}) and returns
// the report as JSON.
func (c *Client) Test(ctx context.Context, event []byte) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, http.MethodPost, "/v1/triggers/test", nil, event, &out)
	return out, err
}
