package trigger

import (
	"fmt"
	"slices"
	"strings"
)

// Resources are the names a process's configuration defines for actions
// to refer to: caches (cache.*) and buckets (storage.*).
type Resources struct {
	Caches  []string
	Buckets []string
}

// CheckResources reports every action of defs that names a cache or a
// bucket res does not define. Definitions are valid without a
// configuration (the API stores them wherever they will run), so this is a
// separate check, made where the configuration is known: `triggerd
// validate`. A templated name is only known at run time and is skipped.
func CheckResources(defs []Definition, res Resources) []Problem {
	var out []Problem
	for _, d := range defs {
		for i, a := range d.Actions {
			key, known, what := "", []string(nil), ""
			switch {
			case strings.HasPrefix(a.Type, "cache."):
				key, known, what = "cache", res.Caches, "caches"
			case strings.HasPrefix(a.Type, "storage."):
				key, known, what = "storage", res.Buckets, "storage"
			default:
				continue
			}
			name, static := staticString(a.Config, key)
			if !static {
				continue
			}
			if name == "" && key == "cache" {
				name = "default"
			}
			if name == "" || slices.Contains(known, name) {
				continue
			}
			list := "none"
			if len(known) > 0 {
				list = strings.Join(known, ", ")
			}
			out = append(out, Problem{File: d.File, Tag: d.Tag,
				Field:  fmt.Sprintf("actions[%d].config.%s", i, key),
				Reason: fmt.Sprintf("%q is not configured (%s in the config: %s)", name, what, list)})
		}
	}
	return out
}
