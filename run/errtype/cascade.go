package errtype

// Run failures of the delivery semantics (docs/semantics.md). They are the
// type of the error the whole run fails with, never retried.
const (
	// CascadeDepth: the run's change was produced by a chain of triggers
	// already as deep as the limit.
	CascadeDepth = "CASCADE_DEPTH_EXCEEDED"
	// CascadeLoop: the trigger already ran earlier in the chain.
	CascadeLoop = "CASCADE_LOOP"
)
