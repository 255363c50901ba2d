// Package secrets keeps secrets out of trigger definitions and out of
// Temporal histories.
//
// A definition names a secret with a placeholder, {{secret.NAME}}. The
// workflow renders every other placeholder and leaves that one as it is,
// so the activity input recorded in the history holds only the name. The
// activity worker resolves the names just before an action runs
// (Middleware), from the environment (TRIGGERD_SECRET_NAME) or a secrets
// file, and redacts the values from the action's output and error before
// they go back to Temporal.
package secrets

import (
	"regexp"
)

// EnvPrefix prefixes the environment variable of each secret:
// {{secret.STRIPE_KEY}} is TRIGGERD_SECRET_STRIPE_KEY.
const EnvPrefix = "TRIGGERD_SECRET_"

// Redacted replaces a secret's value in outputs, errors and log lines.
const Redacted = "[redacted]"

// namePattern is a secret's name: an environment variable's syntax, so
// every secret can come from the environment.
const namePattern = `[A-Za-z_][A-Za-z0-9_]*`

var (
	refRE   = regexp.MustCompile(`\{\{\s*secret\.(` + namePattern + `)\s*\}\}`)
	nameRE  = regexp.MustCompile(`^` + namePattern + `$`)
	exactRE = regexp.MustCompile(`^\{\{\s*secret\.(` + namePattern + `)\s*\}\}$`)
)

// ValidName reports whether name can name a secret.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// IsRef reports whether s is exactly one {{secret.NAME}} placeholder.
func IsRef(s string) bool { return exactRE.MatchString(s) }

// Refs returns the names of the secrets s references, in order.
func Refs(s string) []string {
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
