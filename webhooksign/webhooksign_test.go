package webhooksign_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/triggerd/triggerd/webhooksign"
)

func TestSignVerify(t *testing.T) {
	key := []byte("whsec_test")
	body := []byte(`{"id":42}`)
	at := time.Unix(1767225600, 0)
	h := webhooksign.Sign(at, body, key)
	// The known answer pins the scheme: receivers in other languages
	// compute the same bytes (docs/webhook-signing.md).
	// (the same digest as openssl dgst -sha256 -hmac and Python's hmac).
	const want = "t=1767225600,v1=6b666b13fecea95e32fbaedacf95438432b30dcc798f798834d30ae904532971"
	if h != want {
		t.Fatalf("header %q, want %q", h, want)
	}
	if err := webhooksign.Verify(h, body, key, at.Add(time.Minute), 0); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for name, tc := range map[string]struct {
		header string
		body   []byte
		key    []byte
		now    time.Time
		want   error
	}{
		"tampered body": {h, []byte(`{"id":43}`), key, at, webhooksign.ErrMismatch},
		"wrong key":     {h, body, []byte("other"), at, webhooksign.ErrMismatch},
		"too old":       {h, body, key, at.Add(6 * time.Minute), webhooksign.ErrExpired},
		"from future":   {h, body, key, at.Add(-6 * time.Minute), webhooksign.ErrExpired},
		"no v1":         {"t=1767225600", body, key, at, webhooksign.ErrMalformed},
		"not hex":       {"t=1767225600,v1=zz", body, key, at, webhooksign.ErrMalformed},
		"garbage":       {"nonsense", body, key, at, webhooksign.ErrMalformed},
		"bad timestamp": {"t=x,v1=00", body, key, at, webhooksign.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			err := webhooksign.Verify(tc.header, tc.body, tc.key, tc.now, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	at := time.Unix(1767225600, 0)
	h := webhooksign.Sign(at, []byte("b"), []byte("new"), []byte("old"))
	for _, k := range []string{"new", "old"} {
		if err := webhooksign.Verify(h, []byte("b"), []byte(k), at, 0); err != nil {
			t.Fatalf("key %s: %v", k, err)
		}
	}
}

// The signature of a fixed input, which the Python and Node snippets of
// docs/webhook-signing.md reproduce.
func ExampleSign() {
	fmt.Println(webhooksign.Sign(time.Unix(1767225600, 0), []byte(`{"id":42}`), []byte("whsec_test")))
	// Output: t=1767225600,v1=6b666b13fecea95e32fbaedacf95438432b30dcc798f798834d30ae904532971
}
