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
		{run.TypeHTTP, map[string]any{"url": "https://API.Partner.com:8443/orders?x=1"}, "http:api.partner.com:8443"},
		{run.TypeHTTP, map[string]any{"url": "not a url"}, ""},
		{run.TypeNotifyCallback, map[string]any{"url": "http://hooks.example/cb"}, "http:hooks.example"},
		{run.TypePublish, map[string]any{"target": "kafka:orders"}, "kafka:orders"},
		{run.TypePublish, map[string]any{"target": "rabbitmq:ex/key"}, "rabbitmq:ex/key"},
		{run.TypeNotifyEmail, map[string]any{"to": "a@b"}, "smtp"},
		{run.TypeNotifyEmail, map[string]any{"provider": "ses"}, "smtp:ses"},
		{run.TypeNotifySMS, map[string]any{}, "notification.sms:default"},
		{run.TypeAppAction, map[string]any{"app": "stripe"}, "app:stripe"},
		{run.TypeDatabaseInsert, map[string]any{}, "database:default"},
		{run.TypeStorageUpload, map[string]any{"storage": "docs"}, "storage:docs"},
		{run.TypeCacheSet, map[string]any{}, "cache:default"},
		{run.TypeCustom, map[string]any{"function": "score"}, "custom:score"},
		{run.TypeLog, map[string]any{"message": "hi"}, ""},
	} {
		if got := Target(run.ActionRequest{Type: tc.typ, Config: tc.cfg}); got != tc.want {
			t.Errorf("Target(%s, %v) = %q, want %q", tc.typ, tc.cfg, got, tc.want)
		}
	}
}
