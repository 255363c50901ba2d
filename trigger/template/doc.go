// Package template is the trigger language's templates: the
// {{ path | function }} placeholders of an action's config, checked when a
// definition loads (Check) and rendered against a run's Scope inside the
// workflow (RenderConfig, RenderConfigTrace).
//
// It holds what rendering needs and nothing else: paths (ParsePath,
// Walk), pipelines and their functions, {{secret.NAME}} references (kept
// verbatim: only the worker resolves them), and what a value the change
// event does not carry renders as (Unavailable, Scope.OnUnknown). It does
// not import CEL or the rest of the language, so the workflow, which
// renders, depends on this package alone; package trigger imports it for
// the paths, values and unknowns its conditions share with templates.
package template
