// Package docs holds no code: its tests keep the documentation true to
// the code it describes (the package table of architecture.md, the action
// types of actions.md, the later-issue marks of translation.md).
package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/triggerd/triggerd/"

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	GoFiles    []string
	Imports    []string
}

// listPackages returns the module's packages that have non-test files,
// by path inside the module, with the packages of the module they import
// outside tests.
func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if len(p.GoFiles) == 0 {
			continue // tests only: they may import anything
		}
		var ours []string
		for _, imp := range p.Imports {
			if rest, ok := strings.CutPrefix(imp, module); ok {
				ours = append(ours, rest)
			}
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = ours
	}
	return pkgs
}

// packageRow is one row of architecture.md's package table.
type packageRow struct {
	line     int
	packages []string // a name may end in /... (every package below)
	mayAll   bool     // "everything"
	may      []string // the packages of ours named in the last column
}

var backticked = regexp.MustCompile("`([a-z][a-z0-9./-]*)`")

// packageTable reads the table under "## Packages and the direction of
// dependencies".
func packageTable(t *testing.T) []packageRow {
	t.Helper()
	b, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Packages and the direction of dependencies\n")
	if !ok {
		t.Fatal("architecture.md: no section Packages and the direction of dependencies")
	}
	start := strings.Count(string(b), "\n") - strings.Count(section, "\n") + 1
	var rows []packageRow
	for i, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 3 {
			t.Fatalf("architecture.md:%d: want | package | responsibility | may import |, got %d cells", start+i, len(cells))
		}
		r := packageRow{line: start + i, mayAll: strings.Contains(cells[2], "everything")}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			r.packages = append(r.packages, m[1])
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			r.may = append(r.may, m[1])
		}
		rows = append(rows, r)
	}
	if len(rows) < 15 {
		t.Fatalf("architecture.md: read %d rows: the table or its parsing broke", len(rows))
	}
	return rows
}

func (r packageRow) covers(pkg string) bool {
	for _, p := range r.packages {
		if p == pkg {
			return true
		}
		if dir, ok := strings.CutSuffix(p, "/..."); ok && strings.HasPrefix(pkg, dir+"/") {
			return true
		}
	}
	return false
}

// TestArchitectureImports checks architecture.md's package table against
// the imports the code has: every package of the module has a row, every
// row names packages that exist, and no package imports one of ours that
// its row does not allow.
func TestArchitectureImports(t *testing.T) {
	pkgs := listPackages(t)
	rows := packageTable(t)
	for _, r := range rows {
		for _, p := range r.packages {
			one := packageRow{packages: []string{p}}
			if !slices.ContainsFunc(slices.Collect(maps.Keys(pkgs)), one.covers) {
				t.Errorf("architecture.md:%d: package %s does not exist (or has no code)", r.line, p)
			}
		}
		for _, m := range r.may {
			// database/sql is the one package not of ours in backticks.
			if _, ok := pkgs[m]; !ok && m != "database/sql" {
				t.Errorf("architecture.md:%d: may import %s, which is no package of ours", r.line, m)
			}
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(pkgs)) {
		imports := pkgs[pkg]
		i := slices.IndexFunc(rows, func(r packageRow) bool { return r.covers(pkg) })
		if i < 0 {
			t.Errorf("architecture.md: package %s has no row in the package table", pkg)
			continue
		}
		r := rows[i]
		for _, imp := range imports {
			if !r.mayAll && !slices.Contains(r.may, imp) {
				t.Errorf("architecture.md:%d: %s imports %s, which its \"may import\" column does not allow (a new dependency: add it there, if it points the right way)", r.line, pkg, imp)
			}
		}
	}
}
