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
	srv := httptest.NewServer(api.New(api.Options{Quotas: q, Breakers: b}).Handler())
	defer srv.Close()
	cl := api.NewClient(srv.URL, "bob")

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
	bl, err := cl.Breakers(ctx)
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
}

func TestGuardEndpointsAbsentWithoutGuards(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Options{}).Handler())
	defer srv.Close()
	_, err := api.NewClient(srv.URL, "").Quotas(context.Background())
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Errorf("got %v, want 404", err)
	}
}
