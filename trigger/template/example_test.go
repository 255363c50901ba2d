package template_test

import (
	"fmt"

	"github.com/triggerd/triggerd/trigger/template"
)

func ExampleRenderConfig() {
	cfg := map[string]any{
		"url":  "https://hooks.example.com/orders/{{record.id}}",
		"body": map[string]any{"email": "{{ record.email | lower }}", "total": "{{record.total}}"},
		"auth": "Bearer {{secret.HOOK_TOKEN}}",
	}
	out, err := template.RenderConfig(cfg, template.Scope{
		Record: map[string]any{"id": 7, "email": "Ada@Example.com", "total": 12.5},
	})
	if err != nil {
		panic(err)
	}
	body := out["body"].(map[string]any)
	fmt.Println(out["url"])
	fmt.Println(body["email"], body["total"])
	fmt.Println(out["auth"]) // resolved by the worker, never in the workflow
	// Output:
	// https://hooks.example.com/orders/7
	// ada@example.com 12.5
	// Bearer {{secret.HOOK_TOKEN}}
}
