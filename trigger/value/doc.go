// Package value holds how the trigger language reads the values of a
// change event: numbers in any of their JSON forms (Go numbers,
// json.Number, run.Decimal, numeric strings), timestamps, durations, and
// the equality and ordering that conditions and templates share
// (docs/triggers.md, "Comparison rules"). It has no dependency on CEL or
// on the rest of the language, so that the workflow's template rendering
// can use it.
package value
