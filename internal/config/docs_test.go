package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from the settings table")

const (
	tableStart = "<!-- The table below is generated from internal/config/settings.go: edit that, then run go generate ./internal/config -->\n"
	tableEnd   = "<!-- end of the generated table -->\n"
)

// TestREADMESettings checks that the README's configuration reference is
// the settings table, so that a setting added to the table is documented.
func TestREADMESettings(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	before, rest, ok := strings.Cut(readme, tableStart)
	got, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the markers of the configuration table:\n%s%s", tableStart, tableEnd)
	}
	want := "\n" + settingsTable() + "\n" // blank lines keep the comments out of the table
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(before+tableStart+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the configuration table of %s", path)
		return
	}
	t.Errorf("README.md's configuration table is not the settings table of internal/config/settings.go; "+
		"run `go generate ./internal/config` (go test ./internal/config -run TestREADMESettings -update) to rewrite it (-README +table):\n%s",
		cmp.Diff(strings.Split(got, "\n"), strings.Split(want, "\n")))
}

// TestREADMEExample loads the README's example YAML file: every key it
// shows is a setting.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no YAML example")
	}
	_, _, err = Load(mapenv(nil), Flags{File: writeFile(t, "example.yaml", example)})
	for _, line := range strings.Split(errorText(err), "\n") {
		// The example's placeholders ("$2a$10$...") need not be valid.
		if strings.Contains(line, "unknown key") || strings.Contains(line, ": line ") {
			t.Errorf("README example: %s", line)
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
