package trigger

// Checker reports the definitions that name something the process's
// configuration does not define: a cache, a bucket, a notification
// template, an integration operation, an agent, a quota or breaker policy.
// A definition is valid on its own (ValidateDefinition); whether
// its names resolve depends on the configuration, which the language does
// not know, so cmd builds the Checker from it — the same one `triggerd
// validate` uses. Each Problem's Field is the path inside the trigger
// ("actions[1].config.cache").
type Checker func(defs []Definition) []Problem
