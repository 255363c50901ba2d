// Package trigger is triggerd's trigger language: it parses and validates
// declarative trigger definitions (YAML or JSON, modelled on Ductape's
// database triggers), matches change events against them (Plan) and renders
// the {{ ... }} templates of action configs (RenderConfig).
//
// A *Set is immutable once built, so Plan can be called concurrently by the
// ingest consumers, and RenderConfig is a pure function of its arguments, so
// the workflow can call it from deterministic Temporal workflow code.
// See docs/triggers.md for the reference of the language.
package trigger
