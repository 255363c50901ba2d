package api_test

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/api"
)

type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Security   []map[string][]string           `yaml:"security"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `yaml:"type"`
			Scheme string `yaml:"scheme"`
		} `yaml:"securitySchemes"`
	} `yaml:"components"`
}

type openAPIOperation struct {
	Security  *[]map[string][]string `yaml:"security"`
	Responses map[string]any         `yaml:"responses"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	return doc
}

// operation decodes the operation of method on path (ok false if none).
func (d openAPIDoc) operation(t *testing.T, path, method string) (openAPIOperation, bool) {
	t.Helper()
	n, ok := d.Paths[path][method]
	if !ok {
		return openAPIOperation{}, false
	}
	var op openAPIOperation
	if err := n.Decode(&op); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return op, true
}

// TestOpenAPIDescribesEveryRoute keeps the served document in step with
// the routes: every route is described, with a security requirement
// naming exactly the scope the server enforces, and 401 (and 403 when a
// scope is needed) among its answers.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("bearerAuth scheme: %+v", s)
	}
	if s := doc.Components.SecuritySchemes["mutualTLS"]; s.Type != "mutualTLS" {
		t.Errorf("mutualTLS scheme: %+v", s)
	}
	if len(doc.Security) == 0 {
		t.Error("no top-level security requirement")
	}
	for _, rt := range api.Routes() {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			continue // the catch-all answering 404
		}
		path = strings.ReplaceAll(path, "...}", "}")
		op, ok := doc.operation(t, path, strings.ToLower(method))
		if !ok {
			t.Errorf("%s not described", rt.Pattern)
			continue
		}
		if op.Security == nil || len(*op.Security) == 0 {
			t.Errorf("%s: no security requirement", rt.Pattern)
			continue
		}
		want := []string{}
		if rt.Scope != "" {
			want = []string{string(rt.Scope)}
		}
		for _, req := range *op.Security {
			for scheme, scopes := range req {
				if !slices.Equal(scopes, want) {
					t.Errorf("%s: %s requires %v, the server %v", rt.Pattern, scheme, scopes, want)
				}
			}
		}
		if op.Responses["401"] == nil || (rt.Scope != "" && op.Responses["403"] == nil) {
			t.Errorf("%s: 401/403 answers not described", rt.Pattern)
		}
	}
	if op, _ := doc.operation(t, "/healthz", "get"); op.Security == nil || len(*op.Security) != 0 {
		t.Error("/healthz must be described as public (security: [])")
	}
}
