package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run/errtype"
)

// permanent is a non-retryable application error of type typ. err's text
// becomes the message; err itself is not kept as the cause, which would
// repeat that text in every log line and in the history.
func permanent(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, nil)
}

// transient is a retryable application error of type typ; a positive
// delay overrides the retry policy's next interval (Retry-After).
func transient(typ string, err error, delay time.Duration) error {
	return temporal.NewApplicationErrorWithOptions(err.Error(), typ, temporal.ApplicationErrorOptions{
		NextRetryDelay: delay,
	})
}

func invalidConfig(format string, args ...any) error {
	return permanent(errtype.InvalidConfig, fmt.Errorf(format, args...))
}

func notConfigured(what string) error {
	return permanent(errtype.NotConfigured, fmt.Errorf("%s is not configured on this worker", what))
}

// networkType names a transport failure: ECONNREFUSED, ECONNRESET or
// ETIMEDOUT, or "" when err is not one of those.
func networkType(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errtype.ConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errtype.ConnReset
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return errtype.Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errtype.Timeout
	}
	return ""
}

// classifyHTTPStatus returns nil for a 2xx status and otherwise the error
// the http action fails with. body is a prefix of the response body, quoted
// in the message to help whoever reads the run.
func classifyHTTPStatus(status int, h http.Header, body []byte, now time.Time) error {
	if status >= 200 && status < 300 {
		return nil
	}
	msg := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if snippet := strings.TrimSpace(string(body)); snippet != "" {
		if len(snippet) > 512 {
			snippet = snippet[:512] + "…"
		}
		msg += ": " + snippet
	}
	err := errors.New(msg)
	switch {
	case status >= 300 && status < 400:
		return permanent(errtype.HTTP3xx, fmt.Errorf("%w (redirect to %q not followed)", err, h.Get("Location")))
	case status == http.StatusRequestTimeout:
		return transient(errtype.HTTP408, err, retryAfter(h, now))
	case status == http.StatusTooManyRequests:
		return transient(errtype.HTTP429, err, retryAfter(h, now))
	case status >= 500:
		return transient(errtype.HTTP5xx, err, retryAfter(h, now))
	default:
		return permanent(errtype.HTTP4xx, err)
	}
}

// retryAfter parses a Retry-After header, in seconds or as an HTTP date.
// It returns 0 (use the retry policy) when the header is absent, invalid or
// in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// decodeConfig decodes a rendered config into dst by a JSON round trip,
// rejecting unknown fields so that a misspelt option fails the action
// instead of being ignored.
func decodeConfig(cfg map[string]any, dst any) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return invalidConfig("encode config: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return invalidConfig("config: %v", err)
	}
	return nil
}

// Duration accepts a duration string ("1m30s") or a number of seconds, the
// unit Ductape uses for cache TTLs.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := parseDuration(b, time.Second, "seconds")
	*d = Duration(v)
	return err
}

// Millis accepts a duration string ("1500ms") or a number of milliseconds,
// the unit of timeouts and delays in trigger definitions.
type Millis time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Millis) UnmarshalJSON(b []byte) error {
	v, err := parseDuration(b, time.Millisecond, "milliseconds")
	*d = Millis(v)
	return err
}

// parseDuration reads a JSON number (a count of unit) or a string holding
// either such a number or a Go duration.
func parseDuration(b []byte, unit time.Duration, unitName string) (time.Duration, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, err
	}
	var d time.Duration
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		d = time.Duration(x * float64(unit))
	case string:
		if n, err := strconv.ParseFloat(x, 64); err == nil {
			d = time.Duration(n * float64(unit))
			break
		}
		p, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want %s or a Go duration like 1m30s", x, unitName)
		}
		d = p
	default:
		return 0, fmt.Errorf("duration: want %s or a string, got %s", unitName, string(b))
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %s is negative", string(b))
	}
	return d, nil
}

// stringish renders a scalar config value (a key or a header value that a
// whole-value template may have turned into a number) as a string.
func stringish(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	default:
		return "", fmt.Errorf("want a string or a number, got %T", v)
	}
}

// encodeValue is a message, body or cache value as bytes: a string as is,
// anything else JSON-encoded. It reports whether it JSON-encoded.
func encodeValue(v any) ([]byte, bool, error) {
	if s, ok := v.(string); ok {
		return []byte(s), false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// classifyTransport makes a failure to reach a target retryable, typed by
// what failed when it can tell (refused, reset, timed out), else as
// fallback (errtype.Unclassified when empty).
func classifyTransport(err error, fallback string) error {
	typ := networkType(err)
	if typ == "" {
		typ = fallback
	}
	if typ == "" {
		typ = errtype.Unclassified
	}
	return transient(typ, err, 0)
}
