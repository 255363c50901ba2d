package config

import (
	"fmt"
	"reflect"
	"strings"
)

// A Rename is a key that changed its name. The former name is still read,
// from the file and from its TRIGGERD_* variable, so that a deployment
// keeps working across the upgrade; each use is reported as a Deprecation
// (logged at start-up, printed by `triggerd validate`), and
// docs/configuration.md lists it under "Deprecated keys".
type Rename struct {
	Old, New string
}

// Renames lists the renamed keys. A rename is one entry here: the loader
// finds the new key by its path.
func Renames() []Rename {
	return []Rename{
		// Every other address key (temporal.address, the services' env
		// variables) is spelled out.
		{Old: "redis.addr", New: "redis.address"},
		// Durations that say how often are …Interval everywhere else
		// (kafka.commitInterval, triggers.pollInterval).
		{Old: "quotas.refresh", New: "quotas.refreshInterval"},
	}
}

// A Deprecation is one use of a former key name by a configuration.
type Deprecation struct {
	Rename
	// Env is the variable that set it (TRIGGERD_REDIS_ADDR), or "" when
	// the file did.
	Env string
	// Line is the line of the file that set it (0 for a variable).
	Line int
}

func (d Deprecation) String() string {
	if d.Env != "" {
		return fmt.Sprintf("%s is deprecated: rename it %s (%s is now %s)", d.Env, EnvName(d.New), d.Old, d.New)
	}
	return fmt.Sprintf("%s (line %d) is deprecated: rename it %s", d.Old, d.Line, d.New)
}

// Deprecations lists the former key names the loaded configuration used,
// file first, then variables. They still work; Load returns no problem for
// them.
func (c *Config) Deprecations() []Deprecation { return c.deprecations }

// renamedFrom returns the rename whose former name is path.
func renamedFrom(path string) (Rename, bool) {
	for _, r := range Renames() {
		if r.Old == path {
			return r, true
		}
	}
	return Rename{}, false
}

// fieldAt returns the field of root (a Config) at the YAML path, through
// nested structs.
func fieldAt(root reflect.Value, path string) (reflect.Value, bool) {
	v := root
	for part := range strings.SplitSeq(path, ".") {
		if v.Kind() != reflect.Struct || v.Type() == durationType {
			return reflect.Value{}, false
		}
		f, ok := yamlFields(v)[part]
		if !ok {
			return reflect.Value{}, false
		}
		v = f
	}
	return v, true
}

// checkRenamedInFile reports a key set in the file under both its names:
// which one should win is not for the loader to guess.
func (d *decoder) checkRenamedInFile() {
	for _, dep := range d.deprecations {
		if line, ok := d.set[dep.New]; ok {
			d.probs = append(d.probs, Problem{Field: dep.Old, Reason: fmt.Sprintf(
				"line %d: former name of %s, which line %d sets too: keep only %s", dep.Line, dep.New, line, dep.New)})
		}
	}
}

// applyRenamedEnv applies the variables of renamed keys to their new keys,
// unless the new variable is set too (a problem).
func applyRenamedEnv(c *Config, env map[string]string) ([]Deprecation, []Problem) {
	var deps []Deprecation
	var probs []Problem
	root := reflect.ValueOf(c).Elem()
	for _, r := range Renames() {
		old := EnvName(r.Old)
		s, ok := env[old]
		if !ok {
			continue
		}
		if _, both := env[EnvName(r.New)]; both {
			probs = append(probs, Problem{Field: r.New, Reason: fmt.Sprintf("both %s and its former name %s are set: keep only %s", EnvName(r.New), old, EnvName(r.New))})
			continue
		}
		f, ok := fieldAt(root, r.New)
		if !ok {
			probs = append(probs, Problem{Field: r.New, Reason: "renamed key not found (a bug in config.Renames)"})
			continue
		}
		if err := setString(f, s); err != nil {
			probs = append(probs, Problem{Field: r.New, Reason: fmt.Sprintf("%s (from %s)", err, old)})
			continue
		}
		deps = append(deps, Deprecation{Rename: r, Env: old})
	}
	return deps, probs
}
