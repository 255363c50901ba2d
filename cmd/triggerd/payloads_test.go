package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/largepayload"
)

// temporal.largePayloads wires the codec into the data converter and,
// with codecServer, serves it at /codec on api.listen.
func TestLargePayloadsWiring(t *testing.T) {
	cfg := config.Default()
	dc, codec, err := dataConverter(cfg)
	require.NoError(t, err)
	assert.Nil(t, codec, "off by default")
	assert.Equal(t, converter.GetDefaultDataConverter(), dc)

	cfg.Storage = map[string]config.Bucket{"payloads": {Driver: config.StorageLocal, Dir: t.TempDir()}}
	cfg.Temporal.LargePayloads = config.LargePayloads{Storage: "payloads", ThresholdBytes: 1024, CodecServer: true,
		CodecServerOrigins: []string{"http://localhost:8233"}}
	dc, codec, err = dataConverter(cfg)
	require.NoError(t, err)
	require.NotNil(t, codec)
	big := map[string]string{"body": strings.Repeat("x", 5000)}
	p, err := dc.ToPayload(big)
	require.NoError(t, err)
	require.True(t, largepayload.IsReference(p))

	const opsToken, readToken = "ops-token-0123456789abcdef", "read-token-0123456789abcdef"
	auth, err := api.NewAuth(api.AcceptToken("ops", opsToken, api.ScopeOps), api.AcceptToken("reader", readToken, api.ScopeTriggersRead))
	require.NoError(t, err)
	a, err := startAPI(config.API{Listen: "127.0.0.1:0"}, newMetrics(), nil, auth, codecServer(cfg, codec), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer a.stop()
	url := "http://" + a.ln.Addr().String() + codecServerPath + "/decode"
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	post := func(method, token string) *http.Response {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:8233")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	// The UI's preflight carries no credentials.
	resp := post(http.MethodOptions, "")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	for token, want := range map[string]int{"": http.StatusUnauthorized, readToken: http.StatusForbidden} {
		resp := post(http.MethodPost, token)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "decoding needs the ops scope")
	}
	resp = post(http.MethodPost, opsToken)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Payloads []*commonpb.Payload `json:"payloads"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	var back map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &back))
	assert.Equal(t, big, back)

	cfg.Temporal.LargePayloads.CodecServer = false
	assert.Nil(t, codecServer(cfg, codec))
}
