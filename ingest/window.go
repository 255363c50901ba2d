package ingest

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"
)

// window holds the messages of one partition that are being processed: at
// most `size` at once, each waiting for the earlier messages that share an
// ordering key with it, and it tells when the prefix of done messages
// grows, which is how far the partition's offset may be committed.
//
// With size 1 messages are processed one after the other. A larger size
// lets independent messages' starts overlap (issue 13) while the runs of
// one record's sync triggers, and the events of one `for: all` trigger,
// still start in offset order (see orderingKeys).
type window struct {
	sem chan struct{}
	wg  sync.WaitGroup

	mu    sync.Mutex
	queue []*slot          // admitted, not yet part of the done prefix, in offset order
	last  map[string]*slot // latest admitted slot per ordering key
}

// slot is one admitted message.
type slot struct {
	msg      kafka.Message
	keys     []string
	after    []*slot       // earlier slots sharing a key, to wait for
	finished chan struct{} // closed when processing returned, done or not
	done     bool
}

func newWindow(size int) *window {
	return &window{sem: make(chan struct{}, max(size, 1)), last: map[string]*slot{}}
}

// admit waits for room in the window and admits msg. It returns nil when
// ctx ended first.
func (w *window) admit(ctx context.Context, msg kafka.Message, keys []string) *slot {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &slot{msg: msg, keys: keys, finished: make(chan struct{})}
	for _, k := range keys {
		if p := w.last[k]; p != nil {
			s.after = append(s.after, p)
		}
		w.last[k] = s
	}
	w.queue = append(w.queue, s)
	w.wg.Add(1)
	return s
}

// waitTurn waits until the earlier messages sharing a key with s finished;
// false when ctx ended first.
func (w *window) waitTurn(ctx context.Context, s *slot) bool {
	for _, p := range s.after {
		select {
		case <-p.finished:
		case <-ctx.Done():
			return false
		}
	}
	s.after = nil
	return true
}

// finish records that s's processing returned (done: the message is done)
// and frees its room. When the prefix of done messages grew, it returns
// the last message of the prefix and true.
func (w *window) finish(s *slot, done bool) (kafka.Message, bool) {
	w.mu.Lock()
	s.done = done
	close(s.finished)
	for _, k := range s.keys {
		if w.last[k] == s {
			delete(w.last, k)
		}
	}
	var last kafka.Message
	n := 0
	for n < len(w.queue) && w.queue[n].done {
		last = w.queue[n].msg
		n++
	}
	w.queue = w.queue[n:]
	w.mu.Unlock()
	<-w.sem
	w.wg.Done()
	return last, n > 0
}

// wait waits until every admitted message finished.
func (w *window) wait() { w.wg.Wait() }
