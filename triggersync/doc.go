// Package triggersync keeps a process's triggers in step with the trigger
// store: a Reloader polls the store's revision and swaps the whole set of a
// trigger.Registry when it moves, and Definitions turns the store's live
// records into definitions carrying their version, author and time. The
// ingest and worker processes own a Reloader without depending on the HTTP
// API; the API uses the same functions for its dry runs and its reload
// endpoint.
package triggersync
