package api_test

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/api"
)

// TestOpenAPIDescribesEveryRoute keeps the served document in step with
// the routes.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/v1/triggers":                          {"get", "post"},
		"/v1/triggers/{tag}":                    {"get", "put", "patch", "delete"},
		"/v1/triggers/{tag}/versions":           {"get"},
		"/v1/triggers/{tag}/versions/{version}": {"get"},
		"/v1/triggers:apply":                    {"post"},
		"/v1/triggers/load":                     {"post"},
		"/v1/triggers/test":                     {"post"},
		"/openapi.yaml":                         {"get"},
		"/v1/quotas":                            {"get"},
		"/v1/quotas/changes":                    {"get"},
		"/v1/quotas/{key}":                      {"put", "delete"},
		"/v1/breakers":                          {"get"},
		"/v1/breakers/reset":                    {"post"},
		"/v1/breakers/changes":                  {"get"},
		"/v1/breakers/settings/{name}":          {"put", "delete"},
		"/v1/gate/{table}/{operation}":          {"post"},
	} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("%s %s not described", m, path)
			}
		}
	}
}
