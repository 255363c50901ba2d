package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
)

// Quotas is what the API needs of the quota decorator (*quotas.Quotas).
type Quotas interface {
	List(ctx context.Context) ([]quotas.Configured, error)
	Set(ctx context.Context, key string, l *run.Limit, actor string) (quotas.Override, error)
	Changes(ctx context.Context, n int) ([]quotas.Override, error)
}

// Breakers is what the API needs of the breakers (*fallbacks.Breakers).
type Breakers interface {
	List(ctx context.Context) ([]fallbacks.State, error)
	Reset(ctx context.Context, name string) (fallbacks.State, error)
}

// Limit is a quota limit as the API reads and writes it: durations are
// strings ("1s", "1m").
type Limit struct {
	Rate          int    `json:"rate,omitempty"`
	Period        string `json:"period,omitempty"`
	Burst         int    `json:"burst,omitempty"`
	Daily         int64  `json:"daily,omitempty"`
	Monthly       int64  `json:"monthly,omitempty"`
	OnUnavailable string `json:"onUnavailable,omitempty"`
}

func limitOf(l run.Limit) Limit {
	out := Limit{Rate: l.Rate, Burst: l.Burst, Daily: l.Daily, Monthly: l.Monthly, OnUnavailable: l.OnUnavailable}
	if l.Period > 0 {
		out.Period = l.Period.String()
	}
	return out
}

// Run converts the limit, naming the field that is wrong.
func (l Limit) Run() (run.Limit, error) {
	out := run.Limit{Rate: l.Rate, Burst: l.Burst, Daily: l.Daily, Monthly: l.Monthly, OnUnavailable: l.OnUnavailable}
	if l.Period != "" {
		d, err := time.ParseDuration(l.Period)
		if err != nil || d <= 0 {
			return out, fmt.Errorf("period: %q is not a positive duration like 1s or 1m", l.Period)
		}
		out.Period = d
	}
	return out, nil
}

// QuotaOverride is a runtime override or one change of the log.
type QuotaOverride struct {
	Key     string    `json:"key"`
	Limit   Limit     `json:"limit"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
	Removed bool      `json:"removed,omitempty"`
}

func overrideOf(o quotas.Override) QuotaOverride {
	return QuotaOverride{Key: o.Key, Limit: limitOf(o.Value), Actor: o.Actor, At: o.At.UTC(), Removed: o.Removed}
}

// Quota is one configured quota or override.
type Quota struct {
	Key      string         `json:"key"`
	Limit    Limit          `json:"limit"`
	Source   string         `json:"source"`
	Override *QuotaOverride `json:"override,omitempty"`
}

func (s *Server) registerGuards(mux *http.ServeMux) {
	if s.quotas != nil {
		mux.HandleFunc("GET /v1/quotas", s.listQuotas)
		mux.HandleFunc("GET /v1/quotas/changes", s.quotaChanges)
		mux.HandleFunc("PUT /v1/quotas/{key...}", s.setQuota)
		mux.HandleFunc("DELETE /v1/quotas/{key...}", s.removeQuota)
	}
	if s.breakers != nil {
		mux.HandleFunc("GET /v1/breakers", s.listBreakers)
		mux.HandleFunc("POST /v1/breakers/reset", s.resetBreaker)
	}
}

func (s *Server) listQuotas(w http.ResponseWriter, r *http.Request) {
	l, err := s.quotas.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Quota, len(l))
	for i, q := range l {
		out[i] = Quota{Key: q.Key, Limit: limitOf(q.Limit), Source: q.Source}
		if q.Override != nil {
			o := overrideOf(*q.Override)
			out[i].Override = &o
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"quotas": out})
}

func (s *Server) quotaChanges(w http.ResponseWriter, r *http.Request) {
	n := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			s.fail(w, r, badRequest("limit: want a positive integer, got %q", v))
			return
		}
	}
	l, err := s.quotas.Changes(r.Context(), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]QuotaOverride, len(l))
	for i, o := range l {
		out[i] = overrideOf(o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": out})
}

func (s *Server) setQuota(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in Limit
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.fail(w, r, invalidQuota(err))
		return
	}
	l, err := in.Run()
	if err != nil {
		s.fail(w, r, invalidQuota(err))
		return
	}
	s.writeOverride(w, r, &l)
}

func (s *Server) removeQuota(w http.ResponseWriter, r *http.Request) {
	s.writeOverride(w, r, nil)
}

func (s *Server) writeOverride(w http.ResponseWriter, r *http.Request, l *run.Limit) {
	key := r.PathValue("key")
	o, err := s.quotas.Set(r.Context(), key, l, actor(r))
	if errors.Is(err, quotas.ErrInvalid) {
		s.fail(w, r, invalidQuota(err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("quota override changed", "key", key, "removed", o.Removed, "actor", o.Actor)
	writeJSON(w, http.StatusOK, overrideOf(o))
}

func invalidQuota(err error) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid quota",
		Problems: []Problem{{Reason: err.Error()}}}
}

func (s *Server) listBreakers(w http.ResponseWriter, r *http.Request) {
	l, err := s.breakers.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"breakers": l})
}

func (s *Server) resetBreaker(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" {
		s.fail(w, r, badRequest(`body: want {"name": "<breaker>"}`))
		return
	}
	st, err := s.breakers.Reset(r.Context(), in.Name)
	if errors.Is(err, fallbacks.ErrNoBreaker) {
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Warn("circuit breaker reset through the API", "breaker", in.Name, "actor", actor(r))
	writeJSON(w, http.StatusOK, st)
}

// Quotas lists the configured quotas and the runtime overrides.
func (c *Client) Quotas(ctx context.Context) ([]Quota, error) {
	var out struct {
		Quotas []Quota `json:"quotas"`
	}
	return out.Quotas, c.do(ctx, http.MethodGet, "/v1/quotas", nil, nil, &out)
}

// QuotaChanges returns the latest override changes, newest first.
func (c *Client) QuotaChanges(ctx context.Context, n int) ([]QuotaOverride, error) {
	var out struct {
		Changes []QuotaOverride `json:"changes"`
	}
	return out.Changes, c.do(ctx, http.MethodGet, "/v1/quotas/changes?limit="+strconv.Itoa(n), nil, nil, &out)
}

// SetQuota overrides the limit of quota key for every process; a nil
// limit removes the override.
func (c *Client) SetQuota(ctx context.Context, key string, l *Limit) (QuotaOverride, error) {
	var out QuotaOverride
	path := "/v1/quotas/" + (&url.URL{Path: key}).EscapedPath()
	if l == nil {
		return out, c.do(ctx, http.MethodDelete, path, nil, nil, &out)
	}
	return out, c.do(ctx, http.MethodPut, path, nil, l, &out)
}

// Breakers lists the circuit breakers' shared state.
func (c *Client) Breakers(ctx context.Context) ([]fallbacks.State, error) {
	var out struct {
		Breakers []fallbacks.State `json:"breakers"`
	}
	return out.Breakers, c.do(ctx, http.MethodGet, "/v1/breakers", nil, nil, &out)
}

// ResetBreaker closes breaker name for every process.
func (c *Client) ResetBreaker(ctx context.Context, name string) (fallbacks.State, error) {
	var out fallbacks.State
	return out, c.do(ctx, http.MethodPost, "/v1/breakers/reset", nil, map[string]string{"name": name}, &out)
}
