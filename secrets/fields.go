package secrets

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// legacyEnvRef is the whole value "${NAME}" that the notifications,
// integrations and agents sections once read from the environment. It is
// refused with a pointer to {{secret.NAME}}, so that a config written for
// it fails at start-up instead of sending "${NAME}" as a password.
var legacyEnvRef = regexp.MustCompile(`^\$\{(` + namePattern + `)\}$`)

// FieldsOption configures ResolveFields.
type FieldsOption func(*fieldsWalk)

// SkipFields leaves the fields under these paths (e.g. "notifications.templates",
// whose placeholders are message variables) as they are.
func SkipFields(paths ...string) FieldsOption {
	return func(w *fieldsWalk) { w.skip = append(w.skip, paths...) }
}

// ResolveFields replaces, in place, the {{secret.NAME}} placeholders in the
// string fields of the struct v points to: plain strings, and the strings
// of slices, maps and interface values (YAML-decoded maps and lists) below
// it. Field paths are the yaml tag names ("integrations.stripe.auth.token"),
// and an error lists every field naming a secret no source holds, or still
// written "${NAME}", with that path.
//
// It is how a process resolves its own credentials (an integration's token,
// the Redis password) at start-up from the same sources as actions use.
func (r *Resolver) ResolveFields(v any, opts ...FieldsOption) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("secrets: ResolveFields needs a non-nil pointer, got %T", v)
	}
	w := &fieldsWalk{r: r}
	for _, o := range opts {
		o(w)
	}
	w.value(rv.Elem(), "")
	return errors.Join(w.errs...)
}

// SyntaxOnly reports the fields still written "${NAME}" and changes and
// looks up nothing: what a config check (triggerd validate) can say
// without the secrets, which CI does not have.
func SyntaxOnly() FieldsOption { return func(w *fieldsWalk) { w.syntaxOnly = true } }

type fieldsWalk struct {
	r          *Resolver
	skip       []string
	syntaxOnly bool
	errs       []error
}

func (w *fieldsWalk) skipped(path string) bool {
	return slices.ContainsFunc(w.skip, func(s string) bool { return path == s || strings.HasPrefix(path, s+".") })
}

// value resolves v (settable, or a struct/slice/map reachable through one).
func (w *fieldsWalk) value(v reflect.Value, path string) {
	if w.skipped(path) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			w.value(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fp := join(path, name)
			if strings.Contains(opts, "inline") {
				fp = path
			}
			w.value(v.Field(i), fp)
		}
	case reflect.String:
		if s, ok := w.str(v.String(), path); ok && v.CanSet() {
			v.SetString(s)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			w.value(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			// Map values are not addressable: resolve a copy, store it back.
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			w.value(e, join(path, k.String()))
			v.SetMapIndex(k, e)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// A decoded value (string, map[string]any, []any): resolve a copy of
		// the concrete value and store it back.
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		w.value(e, path)
		if v.CanSet() {
			v.Set(e)
		}
	}
}

// str resolves the placeholders of s; ok is false when s has none.
func (w *fieldsWalk) str(s, path string) (string, bool) {
	if m := legacyEnvRef.FindStringSubmatch(s); m != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %q is no longer read from the environment: write \"{{secret.%s}}\" and set %s%s (or add %s to secrets.file)", path, s, m[1], EnvPrefix, m[1], m[1]))
		return "", false
	}
	if w.syntaxOnly || !strings.Contains(s, "{{") || !refRE.MatchString(s) {
		return "", false
	}
	used := map[string]string{}
	out, err := w.r.resolve(s, used)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %w", path, err))
		return "", false
	}
	return out.(string), true
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
