package run

import (
	"fmt"
	"regexp"
	"strings"
)

// Kafka headers of the delivery semantics.
const (
	// HeaderCascade carries the cascade chain of the run whose action
	// produced a message: trigger tags, oldest first, comma separated.
	HeaderCascade = "triggerd-cascade"
	// HeaderSkipTriggers, when "true" (or "1"), tells ingest to run no
	// trigger for the message (bulk imports, Metrici's import rule).
	HeaderSkipTriggers = "triggerd-skip-triggers"
	// FieldSkipTriggers is the record field with the same meaning, for
	// producers that cannot set headers (Debezium): a truthy value skips.
	FieldSkipTriggers = "_triggerd_skip"
	// FieldCascade is the record field that carries the cascade chain
	// through a database: a database action writes the chain and its
	// transaction's id into this column (ParseCascadeMarker), and Debezium
	// brings it back with the change.
	FieldCascade = "_triggerd_cascade"
)

// MaxCascadeHeaderBytes bounds HeaderCascade's value (and the chain of a
// FieldCascade marker). A chain triggerd writes holds at most
// delivery.maxCascadeDepth tags; anything near this size is not one.
const MaxCascadeHeaderBytes = 4096

// TagPattern is the grammar of trigger tags (and queue names).
const TagPattern = `^[a-z0-9][a-z0-9._-]*$`

var tagRe = regexp.MustCompile(TagPattern)

// ValidTag reports whether s is a trigger tag (TagPattern).
func ValidTag(s string) bool { return tagRe.MatchString(s) }

// ValidateCascade checks a cascade chain as HeaderCascade (or a
// FieldCascade marker) carries it: trigger tags separated by commas,
// spaces around them allowed, at most MaxCascadeHeaderBytes; "" is the
// empty chain. Ingest dead-letters a message whose chain fails it rather
// than run triggers under a chain it would have to guess.
func ValidateCascade(v string) error {
	if len(v) > MaxCascadeHeaderBytes {
		return fmt.Errorf("%d bytes, more than the %d a cascade chain may have", len(v), MaxCascadeHeaderBytes)
	}
	if strings.TrimSpace(v) == "" {
		return nil
	}
	for i, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return fmt.Errorf("entry %d is empty (want trigger tags separated by commas)", i+1)
		case !ValidTag(s):
			return fmt.Errorf("entry %d %q is not a trigger tag (%s)", i+1, s, TagPattern)
		}
	}
	return nil
}

// ParseSkip reads HeaderSkipTriggers' value: true, 1, yes or t skip;
// false, 0, no or f do not (any case, spaces around ignored). Anything else
// is an error: ingest dead-letters the message rather than guess whether
// an import meant to run triggers.
func ParseSkip(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "t":
		return true, nil
	case "false", "0", "no", "f":
		return false, nil
	}
	return false, fmt.Errorf("unknown value %q (want true or false)", v)
}

// DefaultCascadeDepth is the deepest cascade allowed (Stryke's limit): a
// run whose chain already holds this many triggers fails.
const DefaultCascadeDepth = 3

// FormatCascade renders a chain as HeaderCascade's value.
func FormatCascade(chain []string) string { return strings.Join(chain, ",") }

// ParseCascade reads HeaderCascade's value.
func ParseCascade(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
