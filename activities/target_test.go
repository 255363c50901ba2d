package activities

import (
	"testing"

	"github.com/triggerd/triggerd/run"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		cfg  map[string]any
		want string
	}{
		{TypeHTTP, map[string]any{"url": "https://API.Partner.com:8443/orders?x=1"}, "http:api.partner.com:8443"},
		{TypeHTTP, map[string]any{"url": "not a url"}, ""},
		{TypeNotifyCallback, map[string]any{"url": "http://hooks.example/cb"}, "http:hooks.example"},
		{TypePublish, map[string]any{"target": "kafka:orders"}, "kafka:orders"},
		{TypePublish, map[string]any{"target": "rabbitmq:ex/key"}, "rabbitmq:ex/key"},
		{TypeNotifyEmail, map[string]any{"to": "a@b"}, "smtp"},
		{TypeNotifyEmail, map[string]any{"provider": "ses"}, "smtp:ses"},
		{TypeNotifySMS, map[string]any{}, "notification.sms:default"},
		{TypeAppAction, map[string]any{"app": "stripe"}, "app:stripe"},
		{TypeDatabaseInsert, map[string]any{}, "database:default"},
		{TypeStorageUpload, map[string]any{"storage": "docs"}, "storage:docs"},
		{TypeCacheSet, map[string]any{}, "cache:default"},
		{TypeCustom, map[string]any{"function": "score"}, "custom:score"},
		{TypeLog, map[string]any{"message": "hi"}, ""},
	} {
		if got := Target(run.ActionRequest{Type: tc.typ, Config: tc.cfg}); got != tc.want {
			t.Errorf("Target(%s, %v) = %q, want %q", tc.typ, tc.cfg, got, tc.want)
		}
	}
}
