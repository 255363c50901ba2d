package value

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration read from a Go duration string ("1500ms",
// "2s") or from an integer number of milliseconds, which is how Ductape
// writes retry delays.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// ParseDuration reads a duration as a definition writes it: a Go duration
// string, or a number (or numeric string) of milliseconds.
func ParseDuration(v any) (Duration, error) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return msDuration(f)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("must be a duration like \"1500ms\" or \"2s\", or milliseconds as a number")
		}
		if d < 0 {
			return 0, fmt.Errorf("must not be negative")
		}
		return Duration(d), nil
	default:
		f, ok := Number(v)
		if !ok {
			return 0, fmt.Errorf("must be a duration like \"1500ms\" or \"2s\", or milliseconds as a number")
		}
		return msDuration(f)
	}
}

func msDuration(ms float64) (Duration, error) {
	if ms < 0 || math.IsNaN(ms) || ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, fmt.Errorf("must be a non-negative number of milliseconds")
	}
	return Duration(time.Duration(ms * float64(time.Millisecond))), nil
}
