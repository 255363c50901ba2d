// Package activities implements triggerd's actions as Temporal activities,
// one method of Activities per action type (docs/actions.md):
//
//   - http: one HTTP request, signed on request (webhooksign);
//   - broker.publish: a message to Kafka or RabbitMQ;
//   - cache.set, cache.get, cache.delete, cache.invalidate: the named
//     caches on Redis;
//   - log: a line in the worker's log (log.debug, log.info, log.warn and
//     log.error are log with a level);
//   - database.insert, database.update, database.upsert, database.delete:
//     one statement on a named PostgreSQL connection;
//   - storage.upload, storage.delete, storage.copy: objects in a local
//     directory or an S3 bucket;
//   - notification.email, notification.sms, notification.push,
//     notification.callback: messages through SMTP and HTTP providers;
//   - action.execute: an operation of a configured integration (an app);
//   - agent.run: a prompt to an OpenAI-compatible model;
//   - custom: a Go function a program embedding the worker registered.
//
// workflow.execute and workflow.dispatch are no activities: the workflow
// runs them itself, as child workflows (package workflows).
//
// Activities holds the clients; each action is registered under its
// action type, wrapped in the run.Middleware decorators the caller passes
// (quotas, circuit breakers, fallbacks).
//
// Every action decodes the rendered config of its run.ActionRequest into a
// typed struct, validates it, executes and returns a typed output. Every
// failure is a Temporal application error whose type comes from package
// run/errtype: a bad config, a missing dependency, an HTTP 4xx other
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
