package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
)

func TestQuotaAndBreakerEndpoints(t *testing.T) {
	ctx := context.Background()
	q := quotas.New(quotas.Config{Targets: map[string]run.Limit{"smtp": {Daily: 500}}},
		quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), nil)
	target := func(run.ActionRequest) string { return "http:flaky" }
	b := fallbacks.New(fallbacks.Config{Targets: map[string]run.BreakerSettings{"http:flaky": {ConsecutiveFailures: 1, OpenTimeout: time.Hour}}},
		fallbacks.NewMemoryStore(), target)
	auth, token := adminAuth(t, "bob")
	srv := httptest.NewServer(api.New(api.Options{Quotas: q, Breakers: b, Auth: auth}).Handler())
	defer srv.Close()
	cl := api.NewClient(srv.URL, api.WithToken(token))

	o, err := cl.SetQuota(ctx, "action:orders/notify", &api.Limit{Rate: 10, Period: "1m", Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	if o.Actor != "bob" || o.Limit.Period != "1m0s" {
		t.Errorf("override = %+v", o)
	}
	if got := q.Applied()["action:orders/notify"].Value; got.Rate != 10 || got.Period != time.Minute {
		t.Errorf("the serving process applies it at once: %+v", got)
	}
	list, err := cl.Quotas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != "action:orders/notify" || list[0].Source != "override" || list[1].Key != "target:smtp" {
		t.Errorf("quotas = %+v", list)
	}
	if _, err := cl.SetQuota(ctx, "action:orders/notify", nil); err != nil {
		t.Fatal(err)
	}
	changes, err := cl.QuotaChanges(ctx, 10)
	if err != nil || len(changes) != 2 || !changes[0].Removed {
		t.Errorf("changes = %+v, %v", changes, err)
	}

	for _, bad := range []struct {
		key   string
		limit *api.Limit
		want  string
	}{
		{"nope", &api.Limit{Rate: 1}, "want action:<tag>/<name>"},
		{"target:x", &api.Limit{Rate: 1, Period: "soon"}, `period: "soon" is not a positive duration`},
		{"target:x", &api.Limit{Rate: -1}, "rate: must not be negative"},
	} {
		_, err := cl.SetQuota(ctx, bad.key, bad.limit)
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Error(), bad.want) {
			t.Errorf("SetQuota(%s, %+v) = %v, want 422 with %q", bad.key, bad.limit, err, bad.want)
		}
	}
	// A breaker shows up once it has run, and reset closes it.
	_, _ = b.Middleware(func(context.Context, run.ActionRequest) (any, error) { return nil, errors.New("down") })(ctx, run.ActionRequest{})
	bl, _, err := cl.Breakers(ctx)
	if err != nil || len(bl) != 1 || bl[0].State != "open" || bl[0].OpenUntil == nil {
		t.Fatalf("breakers = %+v, %v", bl, err)
	}
	st, err := cl.ResetBreaker(ctx, bl[0].Name)
	if err != nil || st.State != "closed" {
		t.Errorf("reset = %+v, %v", st, err)
	}
	var e *api.Error
	if _, err := cl.ResetBreaker(ctx, "target:none"); !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Errorf("reset of an unknown breaker = %v", err)
	}

	// Settings overrides: set, listed, applied at once here, logged.
	o2, err := cl.SetBreaker(ctx, "target:http:flaky", &api.BreakerSettings{ConsecutiveFailures: 7, OpenTimeout: "1m"})
	if err != nil || o2.Actor != "bob" || o2.Settings.OpenTimeout != "1m0s" {
		t.Fatalf("SetBreaker = %+v, %v", o2, err)
	}
	if got := b.Applied()["target:http:flaky"].Value; got.ConsecutiveFailures != 7 || got.OpenTimeout != time.Minute {
		t.Errorf("applied = %+v", got)
	}
	_, ovs, err := cl.Breakers(ctx)
	if err != nil || len(ovs) != 1 || ovs[0].Name != "target:http:flaky" {
		t.Errorf("overrides = %+v, %v", ovs, err)
	}
	if _, err := cl.SetBreaker(ctx, "target:http:flaky", nil); err != nil {
		t.Fatal(err)
	}
	bc, err := cl.BreakerChanges(ctx, 5)
	if err != nil || len(bc) != 2 || !bc[0].Removed {
		t.Errorf("changes = %+v, %v", bc, err)
	}
	for _, bad := range []struct {
		name string
		s    api.BreakerSettings
		want string
	}{
		{"flaky", api.BreakerSettings{ConsecutiveFailures: 1}, "want target:<target> or action:<tag>/<name>"},
		{"target:x", api.BreakerSettings{FailureRatio: 2}, "failureRatio: must be in [0, 1]"},
		{"target:x", api.BreakerSettings{OpenTimeout: "later"}, `openTimeout: "later" is not a positive duration`},
	} {
		_, err := cl.SetBreaker(ctx, bad.name, &bad.s)
		if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Error(), bad.want) {
			t.Errorf("SetBreaker(%s, %+v) = %v, want 422 with %q", bad.name, bad.s, err, bad.want)
		}
	}
}

func TestGuardEndpointsAbsentWithoutGuards(t *testing.T) {
	auth, token := adminAuth(t, "ops")
	srv := httptest.NewServer(api.New(api.Options{Auth: auth}).Handler())
	defer srv.Close()
	_, err := api.NewClient(srv.URL, api.WithToken(token)).Quotas(context.Background())
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Errorf("got %v, want 404", err)
	}
}
