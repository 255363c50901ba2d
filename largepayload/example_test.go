package largepayload_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.temporal.io/sdk/converter"

	"github.com/triggerd/triggerd/largepayload"
)

// mapStore is the smallest Store: a map. triggerd uses a bucket of
// `storage:` (activities.OpenBucket), a directory or S3.
type mapStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *mapStore) Put(_ context.Context, key string, data []byte, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = data
	return nil
}

func (s *mapStore) Get(_ context.Context, key string) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], "", nil
}

// A data converter with the codec passes a 2 MB value by reference; the
// same converter on another client reads it back. In triggerd the
// converter goes into client.Options.DataConverter of every client.
func Example() {
	store := &mapStore{m: map[string][]byte{}}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(),
		largepayload.New(store, largepayload.WithThreshold(1<<20)))

	big := map[string]string{"body": strings.Repeat("x", 2<<20)}
	p, _ := dc.ToPayload(big)
	fmt.Println("reference:", largepayload.IsReference(p), "size under 1 KiB:", len(p.Data) < 1024)

	var back map[string]string
	_ = dc.FromPayload(p, &back)
	fmt.Println("round trip:", len(back["body"]) == len(big["body"]))
	// Output:
	// reference: true size under 1 KiB: true
	// round trip: true
}
