package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path (none when path is empty), applies the
// TRIGGERD_* variables of environ (os.Environ() form, KEY=VALUE), applies
// the defaults and validates the result for RoleServe: everything a
// process running the worker and the ingest needs (LoadFor checks less).
//
// A problem with the content (an unknown key, a value of the wrong type, a
// failed validation) is reported in a *Error listing every problem; the
// Config is then returned too, as far as it could be read, so that callers
// such as `triggerd validate` can go on checking what depends on it. Any
// other error (the file cannot be read) comes with a nil Config.
func Load(path string, environ []string) (*Config, error) {
	return LoadFor(RoleServe, path, environ)
}

// LoadFor is Load for a command that does only what role says: the keys
// the role does not read are not checked, and only those it cannot do
// without are required (a command that lists runs in Temporal needs no
// Kafka settings).
func LoadFor(role Role, path string, environ []string) (*Config, error) {
	c := &Config{}
	var probs []Problem
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		probs = append(probs, decodeYAML(b, c)...)
	}
	probs = append(probs, applyEnv(c, environ)...)
	c.setDefaults()
	if err := c.ValidateFor(role); err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		probs = append(probs, ce.Problems...)
	}
	probs = role.relevant(probs)
	if len(probs) > 0 {
		return c, &Error{Problems: probs}
	}
	return c, nil
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeYAML decodes b into c key by key rather than in one yaml.Unmarshal,
// so that every unknown key and every badly typed value is reported with
// its field path, all at once. A key under its former name (Renames) sets
// the new key and is recorded in c's deprecations.
func decodeYAML(b []byte, c *Config) []Problem {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return []Problem{{Reason: "invalid YAML: " + err.Error()}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	d := &decoder{root: reflect.ValueOf(c).Elem(), set: map[string]int{}}
	d.node(doc.Content[0], d.root, "")
	d.checkRenamedInFile()
	c.deprecations = append(c.deprecations, d.deprecations...)
	return d.probs
}

// decoder walks a YAML document into a Config.
type decoder struct {
	root  reflect.Value
	probs []Problem
	// set holds the line of every key the file sets, by path.
	set          map[string]int
	deprecations []Deprecation
}

func (d *decoder) node(n *yaml.Node, v reflect.Value, path string) {
	if v.Kind() == reflect.Struct && v.Type() != durationType {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.probs = append(d.probs, Problem{Field: orRoot(path), Reason: fmt.Sprintf("line %d: must be a mapping", n.Line)})
			return
		}
		fields := yamlFields(v)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			p := join(path, key.Value)
			f, ok := fields[key.Value]
			if !ok {
				r, renamed := renamedFrom(p)
				if f, ok = fieldAt(d.root, r.New); !renamed || !ok {
					d.probs = append(d.probs, Problem{Field: p, Reason: fmt.Sprintf("line %d: unknown key", key.Line)})
					continue
				}
				d.deprecations = append(d.deprecations, Deprecation{Rename: r, Line: key.Line})
				d.node(val, f, r.New)
				continue
			}
			d.set[p] = key.Line
			d.node(val, f, p)
		}
		return
	}
	// A named map (databases: {name: {...}}) is decoded entry by entry so
	// that an unknown key inside an entry is reported with its path too.
	if v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String && n.Kind == yaml.MappingNode {
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			e := reflect.New(v.Type().Elem()).Elem()
			d.node(val, e, join(path, key.Value))
			v.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), e)
		}
		return
	}
	// A single string where a list is expected is accepted as a
	// one-element list: "brokers: kafka:9092" is what people write.
	if v.Kind() == reflect.Slice && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		v.Set(reflect.ValueOf([]string{n.Value}))
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.probs = append(d.probs, Problem{Field: path, Reason: fmt.Sprintf("line %d: %s", n.Line, typeReason(v.Type()))})
	}
}

// typeReason says what a field accepts; yaml.v3's messages name Go types.
func typeReason(t reflect.Type) string {
	switch {
	case t == durationType:
		return "must be a duration such as 500ms or 1m"
	case t.Kind() == reflect.Int:
		return "must be an integer"
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Float64:
		return "must be a number"
	case t.Kind() == reflect.Slice:
		return "must be a list of strings"
	default:
		return "must be a string"
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// yamlFields maps the YAML names of a struct's fields to the fields.
func yamlFields(v reflect.Value) map[string]reflect.Value {
	t := v.Type()
	m := make(map[string]reflect.Value, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = v.Field(i)
		}
	}
	return m
}

// leaf is a settable configuration key with its YAML path.
type leaf struct {
	path  string
	value reflect.Value
}

// leaves lists every key of c in declaration order.
func leaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := v.Field(i)
		p := join(prefix, name)
		if f.Kind() == reflect.Map || (f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String) {
			// Named maps have no environment override: the names are
			// not known in advance.
			continue
		}
		if f.Kind() == reflect.Struct && f.Type() != durationType {
			out = append(out, leaves(f, p)...)
			continue
		}
		out = append(out, leaf{path: p, value: f})
	}
	return out
}

// EnvName returns the environment variable that overrides the key at the
// YAML path (kafka.tls.caFile → TRIGGERD_KAFKA_TLS_CA_FILE).
func EnvName(path string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			b.WriteByte('_')
		}
		prev := rune(0)
		for _, r := range part {
			if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToUpper(r))
			prev = r
		}
	}
	return b.String()
}

// EnvNames lists the variable of every key, in declaration order, for
// documentation and `triggerd validate --help`.
func EnvNames() []string {
	ls := leaves(reflect.ValueOf(&Config{}).Elem(), "")
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = EnvName(l.path)
	}
	return out
}

// applyEnv sets every key whose variable is in environ, and the keys whose
// former name's variable is (recording the deprecation in c). Variables
// with the prefix that name no key are ignored: other tools (the test
// scripts' TRIGGERD_TEST_*) share the prefix.
func applyEnv(c *Config, environ []string) []Problem {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	deps, probs := applyRenamedEnv(c, env)
	c.deprecations = append(c.deprecations, deps...)
	for _, l := range leaves(reflect.ValueOf(c).Elem(), "") {
		name := EnvName(l.path)
		s, ok := env[name]
		if !ok {
			continue
		}
		if err := setString(l.value, s); err != nil {
			probs = append(probs, Problem{Field: l.path, Reason: fmt.Sprintf("%s (from %s)", err, name)})
		}
	}
	return probs
}

// setString parses s into v according to v's type.
func setString(v reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	switch {
	case v.Type() == durationType:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Bool:
		if s == "" {
			v.SetBool(false)
			return nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if s != "" && err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice:
		var list []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
