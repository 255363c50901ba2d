package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// receiver is the local webhook target of every scenario: one HTTP server
// for the suite, one path (a sink) per scenario.
type receiver struct {
	srv  *http.Server
	base string

	mu    sync.Mutex
	sinks map[string]*sink
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{base: "http://" + ln.Addr().String(), sinks: map[string]*sink{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() error { return r.srv.Close() }

// sink routes the webhooks sent to path into m and returns their URL.
func (r *receiver) sink(path string, m *Measure) string {
	r.mu.Lock()
	r.sinks["/"+path] = &sink{m: m, seen: map[int]bool{}}
	r.mu.Unlock()
	return r.base + "/" + path
}

func (r *receiver) drop(path string) {
	r.mu.Lock()
	delete(r.sinks, "/"+path)
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	r.mu.Lock()
	s := r.sinks[req.URL.Path]
	r.mu.Unlock()
	body, err := io.ReadAll(req.Body)
	if s == nil || err != nil {
		// A late retry of a finished scenario: accept it so that it stops.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	d, err := parseDelivery(body)
	if err != nil {
		http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.receive(d, now)
	w.WriteHeader(http.StatusNoContent)
}

// sink records the first delivery of each id (a retried action may
// deliver twice) into its Measure.
type sink struct {
	m    *Measure
	mu   sync.Mutex
	seen map[int]bool
}

func (s *sink) receive(d delivery, at time.Time) {
	id, err1 := strconv.Atoi(d.ID)
	sent, err2 := strconv.ParseInt(d.Sent, 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	s.mu.Lock()
	dup := s.seen[id]
	s.seen[id] = true
	s.mu.Unlock()
	if !dup {
		s.m.deliver(id, time.Unix(0, sent), at)
	}
}

// parseDelivery reads a webhook body. triggerd renders a value that is
// one whole template with the field's type, so id and sent arrive as JSON
// numbers from triggerd and as strings from the raw harness: accept both,
// without going through float64 (a nanosecond timestamp needs 61 bits).
func parseDelivery(body []byte) (delivery, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return delivery{}, err
	}
	str := func(k string) string {
		switch v := doc[k].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return ""
	}
	return delivery{ID: str("id"), Sent: str("sent")}, nil
}
