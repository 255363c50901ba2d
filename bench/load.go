package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// WaitForLoad waits until the 1-minute load average is below limit,
// checking every 15 seconds, for at most maxWait (then it goes on and says
// so): on a shared machine, a measurement is worth more in a quiet window.
func WaitForLoad(ctx context.Context, limit float64, maxWait time.Duration, progress io.Writer) {
	deadline := time.Now().Add(maxWait)
	for {
		load := loadAverage()
		if load < limit {
			fmt.Fprintf(progress, "load average %.2f < %.2f: starting\n", load, limit)
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(progress, "load average still %.2f after %s: starting anyway\n", load, maxWait)
			return
		}
		fmt.Fprintf(progress, "load average %.2f ≥ %.2f: waiting\n", load, limit)
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}
