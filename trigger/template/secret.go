package template

import (
	"fmt"
	"strings"

	"github.com/triggerd/triggerd/secrets"
)

// secretRoot is the template root of secrets: {{secret.NAME}} is left as
// it is by rendering and resolved by the activity worker (package
// secrets), so a secret's value never enters a workflow's history.
const secretRoot = "secret"

// checkSecretPlaceholder validates {{secret.NAME}} at load: one name, an
// environment variable's syntax, and no functions (a function would need
// the value, which the workflow never has).
func checkSecretPlaceholder(pt Path, fns []Func) error {
	if len(pt.Segs) != 1 || pt.Segs[0].Key == "" || !secrets.ValidName(pt.Segs[0].Key) {
		return fmt.Errorf("want {{secret.NAME}}, NAME made of letters, digits and '_'")
	}
	if len(fns) > 0 {
		return fmt.Errorf("secret.%s takes no functions: its value is only known to the worker", pt.Segs[0].Key)
	}
	return nil
}

// IsSecretExpr reports whether a placeholder's expression is a secret
// reference, which rendering keeps verbatim.
func IsSecretExpr(expr string) bool {
	e := strings.TrimSpace(expr)
	return strings.HasPrefix(e, secretRoot+".") && secrets.IsRef("{{"+e+"}}")
}

// holdsSecretRef reports whether a rendered value (a record field, an
// earlier output) contains {{secret.…}}. Such data is refused: the worker
// would resolve it, letting whoever writes a record or answers a webhook
// read any secret back.
func holdsSecretRef(v any) bool { return secrets.HasRefs(v) }
