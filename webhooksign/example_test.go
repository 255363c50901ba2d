package webhooksign_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/triggerd/triggerd/webhooksign"
)

// A receiver checks the signature over the raw body before trusting it.
func ExampleVerify() {
	key := []byte("whsec_example")
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhooksign.Verify(r.Header.Get(webhooksign.Header), body, key, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(receiver)
	defer srv.Close()

	send := func(signWith []byte) int {
		body := []byte(`{"orderId":7}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set(webhooksign.Header, webhooksign.Sign(time.Now(), body, signWith))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(send(key), send([]byte("wrong")))
	// Output: 204 401
}
