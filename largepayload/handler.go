package largepayload

import (
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"
)

// Handler serves c as a codec server for the Temporal UI and CLI: POST
// <prefix>/decode and <prefix>/encode with a JSON {"payloads":[...]} body,
// Temporal's remote codec protocol. Browsers calling from origins (the
// Temporal UI's address, e.g. http://localhost:8233) are allowed by CORS,
// with the headers the UI sends (X-Namespace, Authorization).
//
// Whoever reaches the handler can read every referenced payload: serve it
// only where the Temporal UI's users may read the runs' data.
func Handler(c *Codec, origins ...string) http.Handler {
	h := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(origins, o) {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		h.ServeHTTP(w, r)
	})
}
