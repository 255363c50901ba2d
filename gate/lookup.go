package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/triggerd/triggerd/egress"
)

// DB is what a SQL lookup needs of a database (*pgxpool.Pool has it).
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Limits of a lookup's result: a lookup feeds rules, it is not a report.
const (
	MaxLookupRows  = 100
	MaxLookupBytes = 1 << 20
)

// Lookups performs the lookups of before-triggers (trigger.Lookuper):
// HTTP calls with HTTP and SQL queries on the named DBs ("default" when a
// lookup names none). The time budget comes with the context.
type Lookups struct {
	// HTTP is the client of HTTP lookups. A process gives it a transport
	// from its egress policy (egress.Policy.Transport); nil uses
	// egress.Default()'s, which refuses loopback, private and the other
	// internal ranges, redirects included.
	HTTP *http.Client
	DBs  map[string]DB

	defaultOnce sync.Once
	defaultHTTP *http.Client
}

// Lookup runs one lookup. An HTTP lookup returns {status, body, headers}
// (body decoded when it is JSON) and fails on a transport error or a 5xx;
// a 4xx is a result, since "not found" is an answer rules may test. A SQL
// lookup returns {rows, row (the first or null), count} from a READ ONLY
// transaction that is always rolled back.
func (l *Lookups) Lookup(ctx context.Context, kind string, cfg map[string]any) (any, error) {
	switch kind {
	case "http":
		return l.http(ctx, cfg)
	case "sql":
		return l.sql(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown lookup kind %q", kind)
}

func (l *Lookups) http(ctx context.Context, cfg map[string]any) (any, error) {
	method, _ := cfg["method"].(string)
	if method == "" {
		method = http.MethodGet
	}
	url, _ := cfg["url"].(string)
	var body io.Reader
	if b, ok := cfg["body"]; ok && b != nil {
		if s, ok := b.(string); ok {
			body = strings.NewReader(s)
		} else {
			data, err := json.Marshal(b)
			if err != nil {
				return nil, fmt.Errorf("body: %w", err)
			}
			body = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), url, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h, ok := cfg["headers"].(map[string]any); ok {
		for k, v := range h {
			req.Header.Set(k, fmt.Sprint(v))
		}
	}
	req.Header.Set(DepthHeader, strconv.Itoa(depthOf(ctx)+1))
	c := l.HTTP
	if c == nil {
		l.defaultOnce.Do(func() { l.defaultHTTP = &http.Client{Transport: egress.Default().Transport()} })
		c = l.defaultHTTP
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxLookupBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxLookupBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxLookupBytes)
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	headers := map[string]any{}
	for k := range resp.Header {
		headers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	return map[string]any{"status": resp.StatusCode, "body": decodeBody(data), "headers": headers}, nil
}

// decodeBody decodes a JSON body (numbers kept exact), else returns text.
func decodeBody(data []byte) any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		return v
	}
	return string(data)
}

func (l *Lookups) sql(ctx context.Context, cfg map[string]any) (any, error) {
	name, _ := cfg["database"].(string)
	if name == "" {
		name = "default"
	}
	db, ok := l.DBs[name]
	if !ok {
		return nil, fmt.Errorf("no database %q is configured (databases.%s)", name, name)
	}
	query, _ := cfg["query"].(string)
	args, _ := cfg["args"].([]any)
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	// A lookup never writes: READ ONLY refuses it, and the rollback undoes
	// anything a function might have done.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var maps []map[string]any
	for rows.Next() {
		if len(maps) == MaxLookupRows {
			// Stop reading: the query is not a lookup's.
			return nil, fmt.Errorf("more than %d rows: a lookup returns at most %d (add LIMIT)", MaxLookupRows, MaxLookupRows)
		}
		m, err := pgx.RowToMap(rows)
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Through JSON, so that numerics, timestamps and the like become the
	// plain values rules compare (json.Number, RFC 3339 strings).
	data, err := json.Marshal(maps)
	if err != nil {
		return nil, err
	}
	list, _ := decodeBody(data).([]any)
	if list == nil {
		list = []any{}
	}
	var first any
	if len(list) > 0 {
		first = list[0]
	}
	return map[string]any{"rows": list, "row": first, "count": len(list)}, nil
}
