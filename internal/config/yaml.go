package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeError says what a value should have been. The decoders of our own
// types (yamlBool, secretList) say it themselves; the YAML library's type
// errors, which quote the value, are replaced by errors that quote only
// the value given to a number setting, never that of a string setting (it
// may be a secret).
func decodeError(n *yaml.Node, t reflect.Type, err error) error {
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return err
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	scalar := n.Kind == yaml.ScalarNode
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		if scalar {
			return fmt.Errorf("line %d: invalid integer %q", n.Line, n.Value)
		}
		return fmt.Errorf("line %d: expected an integer", n.Line)
	case reflect.Float64:
		if scalar {
			return fmt.Errorf("line %d: invalid number %q", n.Line, n.Value)
		}
		return fmt.Errorf("line %d: expected a number", n.Line)
	case reflect.String:
		return fmt.Errorf("line %d: expected a string", n.Line)
	case reflect.Slice:
		return fmt.Errorf("line %d: expected a list of strings", n.Line)
	}
	return fmt.Errorf("line %d: invalid value", n.Line)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!merge"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// inPath tells in which section an unknown key is.
func inPath(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// syntaxError is a YAML parse error without the library's "yaml: " prefix.
func syntaxError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

type keyValue struct {
	key   string
	value *yaml.Node
}

// mapping returns the pairs of a YAML mapping in file order; null is an
// empty mapping.
func mapping(n *yaml.Node) ([]keyValue, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	var out []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, keyValue{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out, nil
}

// suggest returns the candidate closest to a misspelled name, if it is
// close enough to be what was meant: a few letters apart.
func suggest(name string, candidates []string) string {
	best, bestDistance := "", max(2, len(name)/10)+1
	for _, c := range candidates {
		if abs(len(name)-len(c)) >= bestDistance {
			continue // too far apart, whatever the letters
		}
		if d := distance(strings.ToUpper(name), strings.ToUpper(c)); d < bestDistance && c != name {
			best, bestDistance = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between two strings, in bytes.
func distance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
