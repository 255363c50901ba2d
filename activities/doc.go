// Package activities implements triggerd's actions as Temporal activities:
// http, broker.publish (Kafka and RabbitMQ), cache.set, cache.delete and
// log. Activities holds the clients; each action is a method registered
// under its action type, wrapped in the run.Middleware decorators the
// caller passes (quotas, circuit breakers, fallbacks).
//
// Every action decodes the rendered config of its run.ActionRequest into a
// typed struct, validates it, executes and returns a typed output. Every
// failure is a Temporal application error whose type comes from package
// workflows/errtype: a bad config, a missing dependency, an HTTP 4xx other
// than 408/429, a broker that rejects a message, are non-retryable; refused
// or reset connections, timeouts, HTTP 5xx/408/429 (honouring Retry-After
// through NextRetryDelay), unavailable brokers and caches are retryable.
// The workflow turns an action's retryOn list into a deny list over those
// types. The worker adds the attempt that failed as errtype.Details so the
// run's result can report it.
//
// Publishing is idempotent where the target lets it be: the request's
// idempotency key (stable across retries) is the HTTP Idempotency-Key
// header, the Kafka header triggerd-idempotency-key and the AMQP message id.
//
// RabbitMQ targets declare nothing: the exchange (or, for a bare queue
// name, the queue) must exist. Messages are published mandatory, so a
// message no queue would receive fails the action (BROKER_UNROUTABLE)
// instead of being dropped silently. Kafka topics must exist too unless
// the brokers create topics on first use.
package activities
