package run

import (
	"bytes"
	"encoding/json"
)

// UnmarshalJSON decodes an event keeping its numbers exact: the values of
// Record, PreviousRecord, User and Metadata decode as json.Number, not
// float64. An event crosses Temporal as JSON, and a BIGINT past 2^53 or a
// decimal rendered as a number (ingest's DecimalsAsNumbers) must reach the
// workflow's templates with the digits the database stored.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event // without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode((*plain)(e))
}
