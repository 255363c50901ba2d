package config

import (
	"testing"
	"time"
)

func TestValidateDeliveryTimings(t *testing.T) {
	c := valid()
	c.Delivery.BatchLinger = -time.Second
	c.Delivery.HeartbeatTimeout = 500 * time.Millisecond
	got := map[string]bool{}
	for _, p := range problemsOf(t, c.Validate()) {
		got[p.Field] = true
	}
	for _, f := range []string{"delivery.batchLinger", "delivery.heartbeatTimeout"} {
		if !got[f] {
			t.Errorf("no problem reported for %s (got %v)", f, got)
		}
	}
}
