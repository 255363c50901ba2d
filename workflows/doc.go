// Package workflows holds RunTrigger, the Temporal workflow that runs one
// matched trigger for one change event.
//
// The workflow walks the trigger's actions in order. For each one it renders
// the action's config templates with template.RenderConfig (inside the
// workflow: rendering is a pure function of the input and of earlier
// outputs, so it replays identically), then executes the activity
// registered under the action's type. Later actions see earlier outputs as
// actions.<name>.output; only actions that succeeded appear there.
//
// # Retries
//
// An action's run.RetryPolicy becomes the activity's Temporal retry policy
// (see RetryPolicy). Unset fields take run's defaults, the language's too
// (run.DefaultMaxAttempts and the rest): 3 attempts, a first interval of
// 1s, a backoff coefficient of 2 and a maximum interval of 30s.
// A maximum interval below the first interval is raised to it.
//
// Temporal only knows a deny list (NonRetryableErrorTypes), while retryOn is
// an allow list. The activities therefore classify every failure into an
// application error type from package errtype, and when retryOn is set the
// deny list is every transient type of errtype.Retryable that no retryOn
// entry names (an entry names a type when the type contains it, ignoring
// case, so "5XX" names HTTP_5XX). Two consequences, by design: a type that
// errtype does not know (one a middleware invented) keeps its own
// retryability, and an attempt that exceeds the action's timeout is a
// Temporal timeout, not an application error, so it is retried whatever
// retryOn says. Permanent types (errtype.Permanent) are non-retryable in
// every policy.
//
// # Failures
//
// A failed action (retries exhausted, or a non-retryable error) is recorded
// with status failed, its error message and the number of attempts made.
// With continueOnError the run goes on and ends as "completed_with_errors".
// Otherwise the remaining actions are recorded as skipped and the workflow
// fails with a non-retryable application error of type
// errtype.ActionFailed naming the action. Temporal drops the result of a
// failed workflow, so that error carries the run.Result as its details:
// ResultFromError recovers it on the client side, and the Temporal UI shows
// it with the failure.
package workflows
