// Package errtype is the vocabulary of application error types shared by the
// activities, which classify every failure into one of them, and the
// workflow, which turns an action's retryOn list into Temporal's deny list of
// non-retryable types. It depends on nothing so that both sides (and
// middlewares) can import it.
package errtype

import (
	"errors"

	"go.temporal.io/sdk/temporal"
)

// Transient failures: the activities return them as retryable application
// errors, and retryOn selects among them.
const (
	ConnRefused       = "ECONNREFUSED"
	ConnReset         = "ECONNRESET"
	Timeout           = "ETIMEDOUT"
	HTTP5xx           = "HTTP_5XX"
	HTTP429           = "HTTP_429"
	HTTP408           = "HTTP_408"
	BrokerUnavailable = "BROKER_UNAVAILABLE"
	BrokerNack        = "BROKER_NACK"
	CacheUnavailable  = "CACHE_UNAVAILABLE"
	// SMTPTransient is a 4xx SMTP reply (mailbox busy, greylisting).
	SMTPTransient = "SMTP_4XX"
	// DBUnavailable is a database that could not be reached or that gave
	// up on the statement for now (serialization failure, deadlock,
	// shutdown, insufficient resources).
	DBUnavailable = "DB_UNAVAILABLE"
	// Unclassified is given to an error an action (or a middleware) returned
	// without a type. It stays retryable, as Temporal would treat it.
	Unclassified = "UNCLASSIFIED"
)

// Permanent failures: always non-retryable, whatever the retry policy says.
const (
	HTTP3xx        = "HTTP_3XX"
	HTTP4xx        = "HTTP_4XX"
	InvalidConfig  = "INVALID_CONFIG"
	NotConfigured  = "NOT_CONFIGURED"
	BrokerRejected = "BROKER_REJECTED"
	Unroutable     = "BROKER_UNROUTABLE"
	CacheRejected  = "CACHE_REJECTED"
	// SMTPRejected is a 5xx SMTP reply (550 mailbox unavailable).
	SMTPRejected = "SMTP_REJECTED"
	// DBConstraint is a statement refused by a constraint (SQLSTATE class
	// 23); DBRejected any other SQL error that a retry would repeat.
	DBConstraint = "DB_CONSTRAINT"
	DBRejected   = "DB_REJECTED"
	// EgressDenied is a connection the egress policy refused (package
	// egress): the target's address is one the process may not reach.
	EgressDenied = "EGRESS_DENIED"
	// TableNotAllowed is a database.* action on a table (or with an
	// operation) its database's allow-list does not name.
	TableNotAllowed = "TABLE_NOT_ALLOWED"
	// RenderFailed is an action whose config templates could not be
	// rendered; the workflow records it without calling the activity.
	RenderFailed = "RENDER_FAILED"
	// ActionFailed is the type of the error a run fails with when an action
	// without continueOnError failed. Its details hold the run.Result.
	ActionFailed = "ActionFailed"
)

// Retryable lists the transient types, in a stable order.
func Retryable() []string {
	return []string{
		ConnRefused, ConnReset, Timeout, HTTP5xx, HTTP429, HTTP408,
		BrokerUnavailable, BrokerNack, CacheUnavailable, SMTPTransient, Unclassified,
		DBUnavailable,
	}
}

// Permanent lists the types that are never retried, in a stable order.
func Permanent() []string {
	return []string{
		HTTP3xx, HTTP4xx, InvalidConfig, NotConfigured, BrokerRejected,
		Unroutable, CacheRejected, SMTPRejected, RenderFailed, ActionFailed,
		DBConstraint, DBRejected, EgressDenied, TableNotAllowed,
	}
}

// Details is attached to an action's application error by the activity
// worker so that the workflow can report the attempt that failed last.
type Details struct {
	Attempt int32 `json:"attempt"`
}

// Message is what the result says of a failed action: the action's
// own error type and message, without the activity error's wrapping (event
// ids, worker identity) that says nothing to whoever reads the run.
func Message(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == "" {
			return appErr.Message()
		}
		return appErr.Type() + ": " + appErr.Message()
	}
	var toErr *temporal.TimeoutError
	if errors.As(err, &toErr) {
		return "timed out (" + toErr.TimeoutType().String() + ")"
	}
	return err.Error()
}
