package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
)

// Canonical validates one trigger document and returns its tag and the
// canonical document the store keeps (defaults applied, the file format as
// JSON), or an *Error with status 422 listing every problem.
func Canonical(doc []byte, opts ...trigger.Option) (string, json.RawMessage, error) {
	return canonical(doc, nil, opts...)
}

// invalid turns a parse or validation error into a 422 listing every
// problem with its field path.
func invalid(err error) *Error {
	e := &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid trigger definition"}
	var ve *trigger.ValidationError
	if !errors.As(err, &ve) {
		e.Problems = []Problem{{Reason: err.Error()}}
		return e
	}
	for _, p := range ve.Problems {
		e.Problems = append(e.Problems, Problem{Field: p.Field, Tag: p.Tag, Reason: p.Reason})
	}
	return e
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	body, err := s.readDefinition(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tag, spec, err := canonical(body, s.check, s.limits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.store.Create(r.Context(), tag, spec, actor(r))
	if errors.Is(err, triggerstore.ErrExists) {
		s.fail(w, r, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: fmt.Sprintf("trigger %q already exists; PUT /v1/triggers/%s replaces it", tag, tag)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("trigger created", "tag", tag, "version", rec.Version, "actor", rec.Actor)
	w.Header().Set("Location", "/v1/triggers/"+tag)
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusCreated, s.withWarnings(fromRecord(rec), spec))
}

// withWarnings adds the warnings of spec to t and logs them.
func (s *Server) withWarnings(t Trigger, spec json.RawMessage) Trigger {
	t.Warnings = warnings(s.warn, []json.RawMessage{spec}, func(int) string { return "" })
	for _, p := range t.Warnings {
		s.log.Warn("trigger written with a warning", "tag", t.Tag, "field", p.Field, "reason", p.Reason)
	}
	return t
}

// listFilter selects triggers by table, event and enabled.
type listFilter struct {
	table, event string
	enabled      *bool
}

func (f listFilter) keep(spec json.RawMessage) bool {
	var d struct {
		Tables  any   `json:"tables"`
		Events  any   `json:"events"`
		Enabled *bool `json:"enabled"`
	}
	if json.Unmarshal(spec, &d) != nil {
		return false
	}
	if f.enabled != nil && (d.Enabled == nil || *d.Enabled) != *f.enabled {
		return false
	}
	if f.table != "" && !slices.ContainsFunc(stringsOf(d.Tables), func(t string) bool { return tableMatches(t, f.table) }) {
		return false
	}
	if f.event != "" {
		want, _ := trigger.NormalizeEvent(f.event)
		ok := slices.ContainsFunc(stringsOf(d.Events), func(e string) bool {
			ce, _ := trigger.NormalizeEvent(e)
			return ce == want || (ce == trigger.EventAfterWrite && strings.HasPrefix(want, "after")) ||
				(ce == trigger.EventBeforeWrite && strings.HasPrefix(want, "before"))
		})
		if !ok {
			return false
		}
	}
	return true
}

// tableMatches compares a trigger's table entry with a filter the way
// matching does: a bare name on either side matches any qualifier.
func tableMatches(entry, filter string) bool {
	if strings.EqualFold(entry, filter) {
		return true
	}
	ei, fi := strings.LastIndexByte(entry, '.'), strings.LastIndexByte(filter, '.')
	if ei >= 0 && fi >= 0 {
		return false
	}
	return strings.EqualFold(entry[ei+1:], filter[fi+1:])
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// TriggerList is the body of GET /v1/triggers.
type TriggerList struct {
	Triggers []Trigger `json:"triggers"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := listFilter{table: q.Get("table"), event: q.Get("event")}
	if f.event != "" {
		if _, ok := trigger.NormalizeEvent(f.event); !ok {
			s.fail(w, r, badRequest("event: unknown event %q", f.event))
			return
		}
	}
	if e := q.Get("enabled"); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil {
			s.fail(w, r, badRequest("enabled: want true or false, got %q", e))
			return
		}
		f.enabled = &b
	}
	recs, err := s.store.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := TriggerList{Triggers: []Trigger{}}
	for _, rec := range recs {
		if !rec.Deleted && f.keep(rec.Spec) {
			out.Triggers = append(out.Triggers, fromRecord(rec))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	rec, err := s.store.Get(r.Context(), tag)
	if errors.Is(err, triggerstore.ErrNotFound) {
		s.fail(w, r, notFound(tag))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusOK, fromRecord(rec))
}

// put creates the trigger or replaces its document. The body's tag, if
// any, must be the path's. An unchanged document creates no version.
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	want, err := ifMatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readDefinition(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		s.fail(w, r, badRequest("body must be a trigger document (a JSON object)"))
		return
	}
	switch t := doc["tag"].(type) {
	case nil:
		doc["tag"] = tag
	case string:
		if t != tag {
			s.fail(w, r, &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid trigger definition",
				Problems: []Problem{{Field: "tag", Reason: fmt.Sprintf("%q differs from the tag in the path, %q", t, tag)}}})
			return
		}
	}
	body, _ = json.Marshal(doc)
	s.write(w, r, tag, body, want, true)
}

// write validates doc and stores it as the next version of tag (creating
// the trigger when allowed), unless it is unchanged.
func (s *Server) write(w http.ResponseWriter, r *http.Request, tag string, doc []byte, ifVersion int64, mayCreate bool) {
	ctx := r.Context()
	gotTag, spec, err := canonical(doc, s.check, s.limits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if gotTag != tag {
		s.fail(w, r, &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid trigger definition",
			Problems: []Problem{{Field: "tag", Reason: "a trigger's tag cannot change; create a new trigger instead"}}})
		return
	}
	cur, err := s.store.Get(ctx, tag)
	switch {
	case errors.Is(err, triggerstore.ErrNotFound):
		if !mayCreate {
			s.fail(w, r, notFound(tag))
			return
		}
		if ifVersion != 0 {
			s.fail(w, r, &Error{Status: http.StatusConflict, Code: CodeConflict,
				Message: fmt.Sprintf("trigger %q does not exist (If-Match %d)", tag, ifVersion)})
			return
		}
		rec, err := s.store.Create(ctx, tag, spec, actor(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("trigger created", "tag", tag, "version", rec.Version, "actor", rec.Actor)
		w.Header().Set("Location", "/v1/triggers/"+tag)
		w.Header().Set("ETag", etag(rec.Version))
		writeJSON(w, http.StatusCreated, s.withWarnings(fromRecord(rec), spec))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if ifVersion != 0 && ifVersion != cur.Version {
		s.fail(w, r, conflict(tag, ifVersion, cur.Version))
		return
	}
	if triggersync.SameSpec(cur.Spec, spec) {
		w.Header().Set("ETag", etag(cur.Version))
		writeJSON(w, http.StatusOK, s.withWarnings(fromRecord(cur), spec))
		return
	}
	// Always conditional on the version read: a concurrent writer between
	// Get and Update gets a 409 rather than a silently lost update.
	rec, err := s.store.Update(ctx, tag, spec, actor(r), cur.Version)
	if errors.Is(err, triggerstore.ErrVersionConflict) {
		s.fail(w, r, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: fmt.Sprintf("trigger %q changed concurrently; read it again and retry", tag)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("trigger updated", "tag", tag, "version", rec.Version, "actor", rec.Actor)
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusOK, s.withWarnings(fromRecord(rec), spec))
}

func conflict(tag string, want, have int64) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict,
		Message: fmt.Sprintf("trigger %q is at version %d, not %d (If-Match)", tag, have, want)}
}

// patch applies a JSON merge patch (RFC 7396) to the stored document:
// {"enabled": false} disables a trigger, a null removes a key.
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	want, err := ifMatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readDefinition(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var p any
	if err := json.Unmarshal(body, &p); err != nil {
		s.fail(w, r, badRequest("body is not valid JSON"))
		return
	}
	if _, ok := p.(map[string]any); !ok {
		s.fail(w, r, badRequest("body must be a JSON merge patch object, such as {\"enabled\": false}"))
		return
	}
	cur, err := s.store.Get(r.Context(), tag)
	if errors.Is(err, triggerstore.ErrNotFound) {
		s.fail(w, r, notFound(tag))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if want != 0 && want != cur.Version {
		s.fail(w, r, conflict(tag, want, cur.Version))
		return
	}
	var doc any
	if err := json.Unmarshal(cur.Spec, &doc); err != nil {
		s.fail(w, r, fmt.Errorf("stored trigger %q: %w", tag, err))
		return
	}
	merged, _ := json.Marshal(mergePatch(doc, p))
	s.write(w, r, tag, merged, cur.Version, false)
}

// mergePatch applies patch to target as RFC 7396 says.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// delete records a deletion; with If-Match, only of that version.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	want, err := ifMatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rec triggerstore.Record
	if want == 0 {
		rec, err = s.store.Delete(r.Context(), tag, actor(r))
	} else {
		var recs []triggerstore.Record
		recs, err = s.store.Apply(r.Context(), []triggerstore.Change{{Kind: triggerstore.ChangeDelete, Tag: tag, IfVersion: want}}, actor(r))
		if err == nil {
			rec = recs[0]
		}
	}
	if errors.Is(err, triggerstore.ErrNotFound) {
		s.fail(w, r, notFound(tag))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("trigger deleted", "tag", tag, "version", rec.Version, "actor", rec.Actor)
	w.WriteHeader(http.StatusNoContent)
}

// VersionList is the body of GET /v1/triggers/{tag}/versions.
type VersionList struct {
	Versions []Trigger `json:"versions"`
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	recs, err := s.store.History(r.Context(), tag)
	if errors.Is(err, triggerstore.ErrNotFound) || (err == nil && len(recs) == 0) {
		s.fail(w, r, notFound(tag))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := VersionList{Versions: make([]Trigger, len(recs))}
	for i, rec := range recs {
		out.Versions[i] = fromRecord(rec)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	v, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || v < 1 {
		s.fail(w, r, badRequest("version: want a positive integer, got %q", r.PathValue("version")))
		return
	}
	rec, err := s.store.GetVersion(r.Context(), tag, v)
	if errors.Is(err, triggerstore.ErrNotFound) {
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("trigger %q has no version %d", tag, v)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusOK, fromRecord(rec))
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	body, err := s.readDefinition(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req ApplyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, badRequest("body must be {\"triggers\": [...], \"prune\": false}: %v", err))
		return
	}
	applied, err := triggersync.Apply(r.Context(), s.store, req.Triggers, req.Prune, actor(r), s.check, s.limits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := ApplyResult{ApplyResult: applied}
	s.log.Info("triggers applied", "actor", actor(r), "created", len(res.Created), "updated", len(res.Updated),
		"unchanged", len(res.Unchanged), "deleted", len(res.Deleted))
	res.Warnings = warnings(s.warn, req.Triggers, func(i int) string { return fmt.Sprintf("triggers[%d]", i) })
	for _, p := range res.Warnings {
		s.log.Warn("trigger applied with a warning", "tag", p.Tag, "field", p.Field, "reason", p.Reason)
	}
	writeJSON(w, http.StatusOK, res)
}

// LoadResult is the body of POST /v1/triggers/load.
type LoadResult struct {
	Revision int64 `json:"revision"`
	Triggers int   `json:"triggers"`
}

func (s *Server) load(w http.ResponseWriter, r *http.Request) {
	if s.reload == nil {
		s.fail(w, r, &Error{Status: http.StatusNotImplemented, Code: CodeBadRequest, Message: "this process runs no trigger matching to reload"})
		return
	}
	rev, n, err := s.reload(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, LoadResult{Revision: rev, Triggers: n})
}

// DecodeTestEvent reads the body of a dry run: a change event in either
// envelope (Debezium or native), bare or as {"event": ..., "key": ...},
// decoded exactly as ingest decodes a Kafka message with opts (snapshot
// reads always become inserts).
func DecodeTestEvent(body []byte, opts ingest.DecodeOptions) (run.Event, error) {
	var wrap struct {
		Event json.RawMessage `json:"event"`
		Key   json.RawMessage `json:"key"`
	}
	msg := kafka.Message{Topic: "triggerd.dry-run", Value: body}
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) == nil && len(probe) <= 2 && probe["event"] != nil && bytes.HasPrefix(bytes.TrimSpace(probe["event"]), []byte("{")) {
		if _, native := probe["operation"]; !native {
			_ = json.Unmarshal(body, &wrap)
			msg.Value = wrap.Event
			if len(wrap.Key) > 0 && string(wrap.Key) != "null" {
				msg.Key = wrap.Key
				var s string
				if json.Unmarshal(wrap.Key, &s) == nil {
					msg.Key = []byte(s)
				}
			}
		}
	}
	opts.SnapshotReads = ingest.SnapshotReadsInsert
	evs, err := ingest.Decode(msg, opts)
	if err != nil {
		return run.Event{}, badRequest("event: %v", err)
	}
	if len(evs) == 0 {
		return run.Event{}, badRequest("event: carries no row change (tombstone or transaction metadata)")
	}
	return evs[0], nil
}

// test is the dry run: the event against the stored triggers, as a
// process that has loaded them would match it, executing nothing.
func (s *Server) test(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := DecodeTestEvent(body, s.decode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	set, err := s.storedSet(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, set.Test(ev))
}

// storedSet builds a Set of the store's live triggers.
func (s *Server) storedSet(ctx context.Context) (*trigger.Set, error) {
	recs, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	defs, err := triggersync.Definitions(recs, s.limits)
	if err != nil {
		return nil, err
	}
	set, err := trigger.NewSet(defs, s.limits)
	if err != nil {
		return nil, fmt.Errorf("stored triggers: %w", err)
	}
	return set, nil
}
