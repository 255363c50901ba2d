package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// chatServer speaks the chat-completions API: a fixed reply with usage,
// or status when it is not 200.
func chatServer(t *testing.T, status int) *target {
	return newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-local" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"local-7b",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Send a welcome pack."},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":31,"completion_tokens":5,"total_tokens":36}}`))
	})
}

func TestAgentRunSendsPromptAndDataAndReturnsReply(t *testing.T) {
	srv := chatServer(t, http.StatusOK)
	temp := 0.2
	a := New(allowLoopback, WithAgents(map[string]Agent{"support-agent": {
		URL: srv.URL + "/v1/", Model: "local-7b", APIKey: "sk-local", System: "You help onboarding.",
		MaxTokens: 200, Temperature: &temp,
	}}))
	out, err := a.AgentRun(context.Background(), request(run.TypeAgentRun, map[string]any{
		"agent":  "support-agent",
		"prompt": "Suggest onboarding steps for this user",
		"data":   map[string]any{"userData": map[string]any{"id": 7, "plan": "pro"}},
	}))
	require.NoError(t, err)
	require.Equal(t, AgentOutput{
		Reply: "Send a welcome pack.", Model: "local-7b", FinishReason: "stop",
		Usage: map[string]any{"prompt_tokens": 31.0, "completion_tokens": 5.0, "total_tokens": 36.0},
	}, out)

	got := onlyRequest(t, srv)
	var body struct {
		Model       string              `json:"model"`
		MaxTokens   int                 `json:"max_tokens"`
		Temperature float64             `json:"temperature"`
		Messages    []map[string]string `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.Body), &body))
	require.Equal(t, "local-7b", body.Model)
	require.Equal(t, 200, body.MaxTokens)
	require.InDelta(t, 0.2, body.Temperature, 1e-9)
	require.Equal(t, []map[string]string{
		{"role": "system", "content": "You help onboarding."},
		{"role": "user", "content": "Suggest onboarding steps for this user\n\n{\"userData\":{\"id\":7,\"plan\":\"pro\"}}"},
	}, body.Messages)
}

func TestAgentRunErrors(t *testing.T) {
	call := func(a *Activities, cfg map[string]any) error {
		_, err := a.AgentRun(context.Background(), request(run.TypeAgentRun, cfg))
		return err
	}
	ok := map[string]any{"agent": "bot", "prompt": "hi"}
	for status, want := range map[int]struct {
		typ       string
		retryable bool
	}{
		http.StatusTooManyRequests:     {errtype.HTTP429, true},
		http.StatusInternalServerError: {errtype.HTTP5xx, true},
		http.StatusBadRequest:          {errtype.HTTP4xx, false},
	} {
		srv := chatServer(t, status)
		a := New(allowLoopback, WithAgents(map[string]Agent{"bot": {URL: srv.URL + "/v1", Model: "m", APIKey: "sk-local"}}))
		appError(t, call(a, ok), want.typ, want.retryable)
	}

	notChat := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":"hello"}`))
	})
	a := New(allowLoopback, WithAgents(map[string]Agent{"bot": {URL: notChat.URL, Model: "m"}}))
	require.Contains(t, appError(t, call(a, ok), errtype.InvalidConfig, false).Message(), "no choices")
	require.Contains(t, appError(t, call(a, map[string]any{"agent": "other", "prompt": "x"}), errtype.NotConfigured, false).Message(), "agents.other")
	appError(t, call(a, map[string]any{"agent": "bot", "prompt": "  "}), errtype.InvalidConfig, false)
	appError(t, call(a, map[string]any{"agent": "bot", "prompt": "x", "model": "gpt"}), errtype.InvalidConfig, false)
}
