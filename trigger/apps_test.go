package trigger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppActionsValidate(t *testing.T) {
	const head = "tag: t\ntables: [orders]\nevents: [afterInsert]\nactions:\n"
	good := head + `
  - type: notification.email
    config:
      notification: order-emails:confirmation
      recipients: "{{record.customer_email}}"
      subject: "Order Confirmation #{{record.order_number}}"
      variables: {orderNumber: "{{record.order_number}}"}
  - type: notification.sms
    config: {notification: "sms:verification-code", recipients: ["{{record.phone}}"], body: {code: "{{record.code}}"}}
  - type: notification.push
    config: {notification: "push:new-message", device_tokens: ["{{record.token}}"], title: {sender: x}, data: {id: 1}}
  - type: notification.callback
    config: {notification: "webhooks:order-created", callback: {body: {orderId: "{{record.id}}"}, headers: {X-Order-Id: "{{record.id}}"}}}
  - type: action.execute
    config: {app: stripe, operation: refund-payment, input: {paymentIntentId: "{{record.payment_intent_id}}"}}
  - type: agent.run
    config: {agent: support-agent, prompt: "Analyze this order", data: {order: "{{record}}"}}
`
	defs, err := Parse([]byte(good), "good.yaml")
	require.NoError(t, err)
	_, err = NewSet(defs)
	require.NoError(t, err)

	for name, tc := range map[string]struct{ actions, want string }{
		"email unknown key":      {`[{type: notification.email, config: {notification: "a:b", recipients: x, cc: y}}]`, "actions[0].config.cc: unknown key for notification.email"},
		"email required":         {`[{type: notification.email, config: {notification: "a:b"}}]`, "actions[0].config.recipients: is required"},
		"notification format":    {`[{type: notification.email, config: {notification: order-emails, recipients: x}}]`, `actions[0].config.notification: "order-emails" must be notification_tag:message_tag`},
		"recipient list entries": {`[{type: notification.email, config: {notification: "a:b", recipients: [x, 3]}}]`, "actions[0].config.recipients[1]: must be a string"},
		"subject type":           {`[{type: notification.email, config: {notification: "a:b", recipients: x, subject: [1]}}]`, "actions[0].config.subject: must be a string (the subject) or a mapping"},
		"sms body map":           {`[{type: notification.sms, config: {notification: "a:b", recipients: x, body: hi}}]`, "actions[0].config.body: must be a mapping"},
		"push tokens":            {`[{type: notification.push, config: {notification: "a:b"}}]`, "actions[0].config.device_tokens: is required"},
		"callback keys":          {`[{type: notification.callback, config: {notification: "a:b", callback: {url: x}}}]`, "actions[0].config.callback.url: unknown key for notification.callback"},
		"action.execute key":     {`[{type: action.execute, config: {app: s, operation: o, params: {}}}]`, "actions[0].config.params: unknown key for action.execute"},
		"action.execute input":   {`[{type: action.execute, config: {app: s, operation: o, input: [1]}}]`, "actions[0].config.input: must be a mapping"},
		"action.execute app":     {`[{type: action.execute, config: {operation: o}}]`, "actions[0].config.app: is required"},
		"agent prompt":           {`[{type: agent.run, config: {agent: a}}]`, "actions[0].config.prompt: is required"},
		"agent model key":        {`[{type: agent.run, config: {agent: a, prompt: p, model: gpt}}]`, "actions[0].config.model: unknown key for agent.run"},
	} {
		t.Run(name, func(t *testing.T) {
			defs, err := Parse([]byte("tag: t\ntables: [orders]\nevents: [afterInsert]\nactions: "+tc.actions+"\n"), "bad.yaml")
			if err == nil {
				_, err = NewSet(defs)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
