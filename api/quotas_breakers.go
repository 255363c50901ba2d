package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
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
	Set(ctx context.Context, name string, s *run.BreakerSettings, actor string) (fallbacks.Override, error)
	Overrides(ctx context.Context) (map[string]fallbacks.Override, error)
	Changes(ctx context.Context, n int) ([]fallbacks.Override, error)
}

// BreakerSettings are a breaker's settings as the API reads and writes
// them: durations are strings ("30s").
type BreakerSettings struct {
	ConsecutiveFailures int     `json:"consecutiveFailures,omitempty"`
	FailureRatio        float64 `json:"failureRatio,omitempty"`
	MinRequests         int     `json:"minRequests,omitempty"`
	Interval            string  `json:"interval,omitempty"`
	OpenTimeout         string  `json:"openTimeout,omitempty"`
	HalfOpenRequests    int     `json:"halfOpenRequests,omitempty"`
}

// Run converts the settings, naming the field that is wrong.
func (b BreakerSettings) Run() (run.BreakerSettings, error) {
	out := run.BreakerSettings{ConsecutiveFailures: b.ConsecutiveFailures, FailureRatio: b.FailureRatio,
		MinRequests: b.MinRequests, HalfOpenRequests: b.HalfOpenRequests}
	var err error
	if out.Interval, err = parseDuration("interval", b.Interval); err != nil {
		return out, err
	}
	out.OpenTimeout, err = parseDuration("openTimeout", b.OpenTimeout)
	return out, err
}

func settingsOf(s run.BreakerSettings) BreakerSettings {
	return BreakerSettings{ConsecutiveFailures: s.ConsecutiveFailures, FailureRatio: s.FailureRatio, MinRequests: s.MinRequests,
		Interval: durationString(s.Interval), OpenTimeout: durationString(s.OpenTimeout), HalfOpenRequests: s.HalfOpenRequests}
}

// BreakerOverride is a breaker's settings override, or one change of the
// log.
type BreakerOverride struct {
	Name     string          `json:"name"`
	Settings BreakerSettings `json:"settings"`
	Actor    string          `json:"actor"`
	At       time.Time       `json:"at"`
	Removed  bool            `json:"removed,omitempty"`
}

func breakerOverrideOf(o fallbacks.Override) BreakerOverride {
	return BreakerOverride{Name: o.Key, Settings: settingsOf(o.Value), Actor: o.Actor, At: o.At.UTC(), Removed: o.Removed}
}

// parseDuration reads an optional positive duration field.
func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration like 1s or 1m", field, s)
	}
	return d, nil
}

func durationString(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
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
	return Limit{Rate: l.Rate, Period: durationString(l.Period), Burst: l.Burst, Daily: l.Daily, Monthly: l.Monthly,
		OnUnavailable: l.OnUnavailable}
}

// Run converts the limit, naming the field that is wrong.
func (l Limit) Run() (run.Limit, error) {
	out := run.Limit{Rate: l.Rate, Burst: l.Burst, Daily: l.Daily, Monthly: l.Monthly, OnUnavailable: l.OnUnavailable}
	var err error
	out.Period, err = parseDuration("period", l.Period)
	return out, err
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

// changesLimit reads ?limit= (default 100).
func changesLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badRequest("limit: want a positive integer, got %q", v)
	}
	return n, nil
}

func (s *Server) quotaChanges(w http.ResponseWriter, r *http.Request) {
	n, err := changesLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
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
	ov, err := s.breakers.Overrides(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]BreakerOverride, 0, len(ov))
	for _, k := range slices.Sorted(maps.Keys(ov)) {
		out = append(out, breakerOverrideOf(ov[k]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"breakers": l, "overrides": out})
}

func (s *Server) breakerChanges(w http.ResponseWriter, r *http.Request) {
	n, err := changesLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.breakers.Changes(r.Context(), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]BreakerOverride, len(l))
	for i, o := range l {
		out[i] = breakerOverrideOf(o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": out})
}

func (s *Server) setBreaker(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in BreakerSettings
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.fail(w, r, invalidBreaker(err))
		return
	}
	st, err := in.Run()
	if err != nil {
		s.fail(w, r, invalidBreaker(err))
		return
	}
	s.writeBreakerOverride(w, r, &st)
}

func (s *Server) removeBreaker(w http.ResponseWriter, r *http.Request) {
	s.writeBreakerOverride(w, r, nil)
}

func (s *Server) writeBreakerOverride(w http.ResponseWriter, r *http.Request, st *run.BreakerSettings) {
	name := r.PathValue("name")
	o, err := s.breakers.Set(r.Context(), name, st, actor(r))
	if errors.Is(err, fallbacks.ErrInvalid) {
		s.fail(w, r, invalidBreaker(err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("breaker settings changed", "breaker", name, "removed", o.Removed, "actor", o.Actor)
	writeJSON(w, http.StatusOK, breakerOverrideOf(o))
}

func invalidBreaker(err error) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid breaker settings",
		Problems: []Problem{{Reason: err.Error()}}}
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

// Breakers lists the circuit breakers' shared state and the settings
// overrides.
func (c *Client) Breakers(ctx context.Context) ([]fallbacks.State, []BreakerOverride, error) {
	var out struct {
		Breakers  []fallbacks.State `json:"breakers"`
		Overrides []BreakerOverride `json:"overrides"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/breakers", nil, nil, &out)
	return out.Breakers, out.Overrides, err
}

// SetBreaker overrides breaker name's settings for every process; nil
// removes the override.
func (c *Client) SetBreaker(ctx context.Context, name string, s *BreakerSettings) (BreakerOverride, error) {
	var out BreakerOverride
	path := "/v1/breakers/settings/" + (&url.URL{Path: name}).EscapedPath()
	if s == nil {
		return out, c.do(ctx, http.MethodDelete, path, nil, nil, &out)
	}
	return out, c.do(ctx, http.MethodPut, path, nil, s, &out)
}

// BreakerChanges returns the latest breaker settings changes, newest first.
func (c *Client) BreakerChanges(ctx context.Context, n int) ([]BreakerOverride, error) {
	var out struct {
		Changes []BreakerOverride `json:"changes"`
	}
	return out.Changes, c.do(ctx, http.MethodGet, "/v1/breakers/changes?limit="+strconv.Itoa(n), nil, nil, &out)
}

// ResetBreaker closes breaker name for every process.
func (c *Client) ResetBreaker(ctx context.Context, name string) (fallbacks.State, error) {
	var out fallbacks.State
	return out, c.do(ctx, http.MethodPost, "/v1/breakers/reset", nil, map[string]string{"name": name}, &out)
}
