package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Source looks secrets up by name. ok is false for a name it does not
// hold; err is for a source that cannot answer (an unreadable file).
type Source interface {
	Lookup(name string) (value string, ok bool, err error)
}

// Env reads TRIGGERD_SECRET_<NAME> through lookup (os.LookupEnv when nil).
type Env struct {
	LookupEnv func(string) (string, bool)
}

// Lookup implements Source.
func (e Env) Lookup(name string) (string, bool, error) {
	lookup := e.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(EnvPrefix + name)
	return v, ok, nil
}

// File reads secrets from a file: a YAML or JSON mapping of names to
// strings, or a dotenv file (NAME=value lines) when its name ends in .env.
// It re-reads the file when its modification time or size changes, so a
// rotated secret is used without restarting the worker.
type File struct {
	path string

	mu     sync.Mutex
	mtime  time.Time
	size   int64
	values map[string]string
}

// NewFile returns the File source of path; it reads the file on first use.
func NewFile(path string) *File { return &File{path: path} }

// Lookup implements Source. A file that cannot be read or parsed while
// it is being rewritten keeps serving the values last read from it; only
// a file never read successfully is an error.
func (f *File) Lookup(name string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refresh(); err != nil && f.values == nil {
		return "", false, err
	}
	v, ok := f.values[name]
	return v, ok, nil
}

// refresh re-reads the file when its modification time or size changed.
func (f *File) refresh() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	if f.values != nil && st.ModTime().Equal(f.mtime) && st.Size() == f.size {
		return nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	values, err := parseFile(f.path, b)
	if err != nil {
		// The error names the file and line, never a value.
		return err
	}
	f.values, f.mtime, f.size = values, st.ModTime(), st.Size()
	return nil
}

func parseFile(path string, b []byte) (map[string]string, error) {
	if strings.HasSuffix(path, ".env") || filepath.Base(path) == ".env" {
		return parseDotenv(path, b)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("secrets file %s: not a YAML/JSON mapping (name it *.env for NAME=value lines)", path)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if !ValidName(k) {
			return nil, fmt.Errorf("secrets file %s: %q is not a secret name (letters, digits, '_')", path, k)
		}
		switch x := v.(type) {
		case string:
			out[k] = x
		case int, int64, float64, bool:
			out[k] = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("secrets file %s: %s must be a string", path, k)
		}
	}
	return out, nil
}

// parseDotenv reads NAME=value lines: blank lines and # comments are
// skipped, an optional "export " is dropped, and a value in single or
// double quotes is unquoted (no escapes or interpolation).
func parseDotenv(path string, b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !ValidName(k) {
			return nil, fmt.Errorf("secrets file %s: line %d: want NAME=value", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, sc.Err()
}
