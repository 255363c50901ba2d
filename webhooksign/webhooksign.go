// Package webhooksign signs and verifies the bodies of webhooks that
// triggerd's http action sends with a sign key, so that a receiver can tell
// a request really came from triggerd and is not a replay of an old one.
//
// The scheme is Stripe's: the signature header holds a Unix timestamp and
// one or more hex HMAC-SHA256 signatures of "<timestamp>.<body>",
//
//	X-Triggerd-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// Signing the timestamp with the body lets a receiver refuse replays older
// than a tolerance; several v1 entries let a sender sign with an old and a
// new key while receivers rotate. The package is stdlib-only so receivers
// written in Go can import it without the rest of triggerd; docs/webhook-signing.md
// shows the same check in Python and Node.
package webhooksign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is the header the http action puts the signature in.
const Header = "X-Triggerd-Signature"

// DefaultTolerance is how old (or how far in the future, for clock skew) a
// signature Verify accepts by default.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns, to be told apart with errors.Is.
var (
	ErrMalformed = errors.New("webhooksign: malformed signature header")
	ErrExpired   = errors.New("webhooksign: timestamp outside the tolerance")
	ErrMismatch  = errors.New("webhooksign: no signature matches")
)

// Sign returns the header value signing body at t with each key (the
// first key is the current one; more keys help a rotation).
func Sign(t time.Time, body []byte, keys ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, k := range keys {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(k, ts, body)))
	}
	return b.String()
}

// Verify checks header (the value of the Header) against body and key. A
// tolerance of 0 means DefaultTolerance; a negative one disables the age
// check (tests only: it allows replays).
func Verify(header string, body, key []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrMalformed)
			}
			sigs = append(sigs, s)
		}
		// Other schemes (v0, a future v2) are ignored, as Stripe's
		// receivers do, so a sender can add one without breaking them.
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrMalformed)
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(sec, 0))
		if age > tolerance || age < -tolerance {
			return fmt.Errorf("%w: signed at %s, now %s", ErrExpired, time.Unix(sec, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	want := mac(key, ts, body)
	for _, s := range sigs {
		// hmac.Equal compares in constant time.
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrMismatch
}

func mac(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
