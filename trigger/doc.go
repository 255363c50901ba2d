// Package trigger is triggerd's trigger language: it parses and validates
// declarative trigger definitions (YAML or JSON, modelled on Ductape's
// database triggers), matches change events against them (Plan), explains
// matches without running anything (Test, the dry run) and renders the
// {{ ... }} templates of action configs (RenderConfig, RenderConfigTrace).
//
// Conditions are structured ({field, operator, value} with and/or/not) or
// CEL expressions (when:, compiled in with the build tag cel until cel-go's
// dependencies are in go.sum). A Definition converts to and from its
// canonical JSON document (Document, MarshalJSON, ParseDocument) so that a
// store can keep it, and ValidateDefinition checks one alone.
//
// A *Set is immutable once built, so Plan can be called concurrently by the
// ingest consumers; a Registry holds the current Set behind an atomic
// pointer for hot reload and in-process registration. RenderConfig is a
// pure function of its arguments, so the workflow can call it from
// deterministic Temporal workflow code.
// See docs/triggers.md for the reference of the language.
package trigger
