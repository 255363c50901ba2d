package main

import (
	"fmt"
	"net/http"

	"go.temporal.io/sdk/converter"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/largepayload"
)

// dataConverter is the data converter of every Temporal client of the
// process: the default one, plus the large-payload codec when
// temporal.largePayloads.storage names a bucket. Every client of the
// namespace (ingest, worker, `triggerd runs`) must have the same, or it
// cannot read the references the others wrote. The codec is nil when off.
func dataConverter(cfg *config.Config) (converter.DataConverter, *largepayload.Codec, error) {
	lp := cfg.Temporal.LargePayloads
	if lp.Storage == "" {
		return converter.GetDefaultDataConverter(), nil, nil
	}
	b, ok := cfg.Storage[lp.Storage]
	if !ok {
		return nil, nil, fmt.Errorf("temporal.largePayloads.storage: no bucket %q in storage", lp.Storage)
	}
	bucket, err := activities.OpenBucket(bucketConfig(b))
	if err != nil {
		return nil, nil, fmt.Errorf("temporal.largePayloads.storage: bucket %q: %w", lp.Storage, err)
	}
	codec := largepayload.New(bucket, largepayload.WithThreshold(lp.ThresholdBytes), largepayload.WithName(lp.Storage))
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec), codec, nil
}

// codecServer is the codec's HTTP handler for the Temporal UI, nil unless
// temporal.largePayloads.codecServer is on.
func codecServer(cfg *config.Config, codec *largepayload.Codec) http.Handler {
	if codec == nil || !cfg.Temporal.LargePayloads.CodecServer {
		return nil
	}
	return http.StripPrefix(codecServerPath, largepayload.Handler(codec, cfg.Temporal.LargePayloads.CodecServerOrigins...))
}

// codecServerPath is where the codec server is mounted on api.listen: the
// Temporal UI's codec server endpoint is http://<api.listen>/codec.
const codecServerPath = "/codec"

// codecRoutes mounts codec on mux and returns the paths the API's
// authentication must let through: the browser's CORS preflight (OPTIONS)
// carries no credentials, so the codec's paths are public for OPTIONS
// only; decoding and encoding need an authenticated caller with the ops
// scope (the payloads are the runs' data). The Temporal UI sends its
// user's access token when its codec setting "pass access token" is on,
// which the API accepts when it trusts the same OIDC issuer; otherwise
// put a proxy with a token in front of it.
func codecRoutes(mux *http.ServeMux, auth *api.Auth, codec http.Handler) []string {
	protected := auth.Require(api.ScopeOps, codec)
	mux.Handle(codecServerPath+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			codec.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	}))
	return []string{codecServerPath + "/decode", codecServerPath + "/encode"}
}
