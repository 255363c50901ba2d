package quotas_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// A quota decorates an action: within the budget the call goes through,
// beyond it the call is refused with a QUOTA_EXCEEDED error saying when
// to come back, which the workflow turns into a durable wait.
func Example() {
	q := quotas.New(quotas.Config{}, quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), nil)
	send := q.Middleware(func(context.Context, run.ActionRequest) (any, error) { return "sent", nil })
	req := run.ActionRequest{TriggerTag: "orders", ActionName: "notify",
		Guard: &run.Guard{Quota: &run.QuotaSpec{Limit: run.Limit{Rate: 2, Period: time.Minute}}}}

	for range 3 {
		out, err := send(context.Background(), req)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == errtype.QuotaExceeded {
			var d errtype.Deferral
			_ = appErr.Details(&d)
			fmt.Println("refused by", d.Quota, "- retry after at least", d.RetryAfter.Round(time.Minute/2) >= 29*time.Second)
			continue
		}
		fmt.Println(out)
	}
	// Output:
	// sent
	// sent
	// refused by action:orders/notify - retry after at least true
}
