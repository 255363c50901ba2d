package template

import "strings"

// JoinField locates child inside parent for error messages and notes:
// "actions[0]" + "config" is "actions[0].config", "body" + "[2]" is
// "body[2]".
func JoinField(parent, child string) string {
	if parent == "" {
		return child
	}
	if strings.HasPrefix(child, "[") {
		return parent + child
	}
	return parent + "." + child
}
