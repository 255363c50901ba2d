// Package gateclient is the Go client of triggerd's gate: an application
// calls it before it writes, and writes the records it returns.
//
//	gc := gateclient.New("http://triggerd:8080", gateclient.WithToken(os.Getenv("TRIGGERD_GATE_TOKEN")))
//	rows, err := gc.Insert(ctx, "users", []map[string]any{{"email": "Ada@Example.com"}})
//	var ve *gateclient.ValidationError
//	if errors.As(err, &ve) { /* show ve.Errors to the user; write nothing */ }
//
// It depends only on the standard library, so an application does not pull
// in triggerd's server dependencies.
//
// When the gate cannot be reached (connection refused, timeout, 5xx), the
// client fails closed: the call returns an error wrapping ErrUnavailable
// and the application writes nothing. WithFailOpen names tables for which
// it writes the records unchanged instead, for data whose rules are a
// convenience rather than a guarantee.
package gateclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds a gate call: the gate answers in memory, plus the
// time budgets of lookups, so a slow answer means it is in trouble.
const DefaultTimeout = 5 * time.Second

// ErrUnavailable is wrapped by the error of a call that could not reach
// the gate (fail closed).
var ErrUnavailable = errors.New("triggerd gate unavailable")

// FieldError is one violation of one record.
type FieldError struct {
	// Index is the record's position in the call.
	Index   int    `json:"index"`
	Trigger string `json:"trigger"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

// ValidationError is the gate's rejection of a batch: write nothing.
type ValidationError struct {
	Table     string
	Operation string
	Errors    []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gate rejected %s on %s:", e.Operation, e.Table)
	for _, f := range e.Errors {
		fmt.Fprintf(&b, " record %d", f.Index)
		if f.Field != "" {
			fmt.Fprintf(&b, " %s", f.Field)
		}
		fmt.Fprintf(&b, ": %s (%s);", f.Message, f.Trigger)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// RequestError is the gate refusing a call (any 4xx but 422): a
// malformed call (400), missing or invalid credentials (401), a token
// without the gate scope (403), a call over a limit (413). It is a bug or
// a misconfiguration of the caller: never retried and never failed open.
type RequestError struct {
	Status  int
	Message string
	// Code is the API's error code: bad_request, unauthenticated,
	// missing_scope, too_large...
	Code string
	// Scope is the scope a 403 needed; Limit the configuration key of
	// the limit a 413 enforced.
	Scope string
	Limit string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("gate: %s (%d): %s", e.Code, e.Status, e.Message)
}

// Client calls the gate. It is safe for concurrent use.
type Client struct {
	base     string
	token    string
	http     *http.Client
	failOpen map[string]bool
	onOpen   func(table, op string, err error)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (its Timeout then applies; for
// client certificates, its Transport's TLSClientConfig).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken authenticates calls with the bearer token (a token with the
// gate scope).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithFailOpen makes calls on these tables return the records unchanged
// when the gate is unavailable, after calling hook (if not nil) so the
// application can log or count it.
func WithFailOpen(hook func(table, op string, err error), tables ...string) Option {
	return func(c *Client) {
		for _, t := range tables {
			c.failOpen[strings.ToLower(t)] = true
		}
		c.onOpen = hook
	}
}

// New returns a client of the gate served by triggerd's API at base
// (http://host:port).
func New(base string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: DefaultTimeout}, failOpen: map[string]bool{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Call carries the optional parts of a gate call.
type Call struct {
	User     map[string]any
	Metadata map[string]any
}

// CallOption sets a part of a Call.
type CallOption func(*Call)

// User says who writes (user.* in rules).
func User(u map[string]any) CallOption { return func(c *Call) { c.User = u } }

// Metadata attaches metadata to the call.
func Metadata(m map[string]any) CallOption { return func(c *Call) { c.Metadata = m } }

// Insert asks the gate about rows to insert and returns the rows to write.
func (c *Client) Insert(ctx context.Context, table string, rows []map[string]any, opts ...CallOption) ([]map[string]any, error) {
	return c.Do(ctx, table, "insert", rows, nil, opts...)
}

// Update asks the gate about rows to update; previous are the rows as
// they are now, in the same order.
func (c *Client) Update(ctx context.Context, table string, rows, previous []map[string]any, opts ...CallOption) ([]map[string]any, error) {
	return c.Do(ctx, table, "update", rows, previous, opts...)
}

// Delete asks the gate whether rows may be deleted.
func (c *Client) Delete(ctx context.Context, table string, rows []map[string]any, opts ...CallOption) ([]map[string]any, error) {
	return c.Do(ctx, table, "delete", rows, nil, opts...)
}

// Do calls POST /v1/gate/{table}/{op}. It returns the records to write, or
// a *ValidationError (rejected: write nothing), a *RequestError (a bad
// call) or an error wrapping ErrUnavailable (fail closed; fail-open tables
// get rows back unchanged instead).
func (c *Client) Do(ctx context.Context, table, op string, rows, previous []map[string]any, opts ...CallOption) ([]map[string]any, error) {
	var call Call
	for _, o := range opts {
		o(&call)
	}
	body, err := json.Marshal(map[string]any{"records": rows, "previousRecords": previous, "user": call.User, "metadata": call.Metadata})
	if err != nil {
		return nil, fmt.Errorf("gate: encode records: %w", err)
	}
	out, err := c.post(ctx, table, op, body)
	if errors.Is(err, ErrUnavailable) && c.failOpen[strings.ToLower(table)] {
		if c.onOpen != nil {
			c.onOpen(table, op, err)
		}
		return rows, nil
	}
	return out, err
}

func (c *Client) post(ctx context.Context, table, op string, body []byte) ([]map[string]any, error) {
	u := fmt.Sprintf("%s/v1/gate/%s/%s", c.base, url.PathEscape(table), url.PathEscape(op))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	var res struct {
		Rejected bool             `json:"rejected"`
		Records  []map[string]any `json:"records"`
		Errors   []FieldError     `json:"errors"`
		Error    *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Scope   string `json:"scope"`
			Limit   string `json:"limit"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	decErr := dec.Decode(&res)
	switch {
	case resp.StatusCode == http.StatusOK && decErr == nil:
		for _, r := range res.Records {
			plainNumbers(r)
		}
		return res.Records, nil
	case resp.StatusCode == http.StatusUnprocessableEntity && decErr == nil:
		return nil, &ValidationError{Table: table, Operation: op, Errors: res.Errors}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 || resp.StatusCode == http.StatusLoopDetected:
		re := &RequestError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data)), Code: "http_" + strconv.Itoa(resp.StatusCode)}
		if res.Error != nil {
			re.Code, re.Message, re.Scope, re.Limit = res.Error.Code, res.Error.Message, res.Error.Scope, res.Error.Limit
		}
		return nil, re
	}
	return nil, fmt.Errorf("%w: HTTP %d from %s", ErrUnavailable, resp.StatusCode, u)
}

// plainNumbers turns json.Numbers into int64 (whole numbers that fit) or
// float64, the types database drivers take.
func plainNumbers(m map[string]any) {
	for k, v := range m {
		m[k] = plain(v)
	}
}

func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		plainNumbers(x)
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	}
	return v
}

// Values returns rows as value lists in the order of columns (a missing
// column is nil), for pgx.CopyFromRows or a multi-row INSERT with
// database/sql.
func Values(rows []map[string]any, columns ...string) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		vals := make([]any, len(columns))
		for j, c := range columns {
			vals[j] = r[c]
		}
		out[i] = vals
	}
	return out
}
