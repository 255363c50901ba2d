// Package triggersync keeps a process's triggers in step with the trigger
// store: a Reloader polls the store's revision and swaps the whole set of a
// trigger.Registry when it moves, and Definitions turns the store's live
// records into definitions carrying their version, author and time. Apply
// writes a batch of documents to the store in one transaction (the API's
// apply endpoint and the trigger files applied at start-up). The ingest and
// worker processes and the CLI use them without depending on the HTTP API;
// the API uses the same functions for its dry runs, applies and reloads.
package triggersync
