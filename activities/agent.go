package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
)

// Agent is an LLM behind an OpenAI-compatible chat completions API.
type Agent struct {
	// URL is the API base, e.g. https://api.openai.com/v1; the action
	// posts to URL/chat/completions.
	URL    string
	Model  string
	APIKey string
	System string
	// MaxTokens and Temperature are sent when set.
	MaxTokens   int
	Temperature *float64
	Timeout     time.Duration
	// Egress is the agent's own policy, nil for the actions'.
	Egress *egress.Policy
}

// WithAgents enables agent.run with these agents by name.
func WithAgents(agents map[string]Agent) Option {
	return func(a *Activities) { a.agents = agents }
}

// AgentConfig is the config of agent.run.
type AgentConfig struct {
	Agent  string `json:"agent"`
	Prompt string `json:"prompt"`
	// Data is appended to the prompt as JSON.
	Data map[string]any `json:"data,omitempty"`
}

// AgentOutput is the output of agent.run.
type AgentOutput struct {
	Reply        string         `json:"reply"`
	Model        string         `json:"model,omitempty"`
	FinishReason string         `json:"finishReason,omitempty"`
	Usage        map[string]any `json:"usage,omitempty"`
}

// AgentRun sends one chat completion request. It goes through the http
// action, so 429 and 5xx are retryable and other 4xx are not.
func (a *Activities) AgentRun(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg AgentConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	ag, ok := a.agents[cfg.Agent]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("agent %q (agents.%s)", cfg.Agent, cfg.Agent))
	}
	if strings.TrimSpace(cfg.Prompt) == "" {
		return nil, invalidConfig("prompt: must not be empty")
	}
	prompt := cfg.Prompt
	if len(cfg.Data) > 0 {
		b, err := json.Marshal(cfg.Data)
		if err != nil {
			return nil, invalidConfig("data: %v", err)
		}
		prompt += "\n\n" + string(b)
	}
	var msgs []map[string]any
	if ag.System != "" {
		msgs = append(msgs, map[string]any{"role": "system", "content": ag.System})
	}
	msgs = append(msgs, map[string]any{"role": "user", "content": prompt})
	headers := map[string]any{}
	if ag.APIKey != "" {
		headers["Authorization"] = "Bearer " + ag.APIKey
	}
	body := map[string]any{"model": ag.Model, "messages": msgs}
	if ag.MaxTokens > 0 {
		body["max_tokens"] = ag.MaxTokens
	}
	if ag.Temperature != nil {
		body["temperature"] = *ag.Temperature
	}
	hcfg := map[string]any{
		"method": "POST", "url": strings.TrimRight(ag.URL, "/") + "/chat/completions",
		"headers": headers, "body": body,
	}
	if ag.Timeout > 0 {
		hcfg["timeout"] = ag.Timeout.String()
	}
	res, err := a.sendHTTP(ctx, run.ActionRequest{Config: hcfg, IdempotencyKey: req.IdempotencyKey}, ag.Egress)
	if err != nil {
		return nil, err
	}
	reply, _ := res.(HTTPOutput).Body.(map[string]any)
	var parsed struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage map[string]any `json:"usage"`
	}
	raw, _ := json.Marshal(reply)
	if reply == nil || json.Unmarshal(raw, &parsed) != nil || len(parsed.Choices) == 0 {
		// A 2xx without choices is a provider speaking another API: a
		// retry would get the same answer.
		return nil, invalidConfig("agent %q: response has no choices (is %s an OpenAI-compatible API?)", cfg.Agent, ag.URL)
	}
	c := parsed.Choices[0]
	return AgentOutput{Reply: c.Message.Content, Model: parsed.Model, FinishReason: c.FinishReason, Usage: parsed.Usage}, nil
}
