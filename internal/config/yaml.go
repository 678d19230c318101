package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// keyDecoder decodes a YAML document into a struct key by key, rather than
// with yaml.Decoder, so that every error names its file and key
// ("WEBHOOK_RECEIVER_CONFIG /etc/x.yaml: lms.timeout: line 3: ..."), and
// every problem is found at once. The keys it decodes are recorded in from,
// as the source of their settings.
type keyDecoder struct {
	file string // the source name and path of the file
	from map[string]string
	errs []error
}

// fail records a problem with the value at a YAML path, or with the
// document when path is empty.
func (d *keyDecoder) fail(path string, err error) {
	if path == "" {
		d.errs = append(d.errs, fmt.Errorf("%s: %w", d.file, err))
		return
	}
	d.errs = append(d.errs, fmt.Errorf("%s: %s: %w", d.file, path, err))
}

// mapping decodes a mapping into the struct v, by the fields' yaml tags.
func (d *keyDecoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, fmt.Errorf("line %d: expected a mapping", n.Line))
		return
	}
	// Merge keys (<<: *defaults) first, so that the mapping's own keys win.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			d.merge(n.Content[i+1], path, v)
		}
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, value := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		key := joinPath(path, k.Value)
		index, known := fields[k.Value]
		switch line, dup := seen[k.Value]; {
		case dup:
			d.fail(key, fmt.Errorf("line %d: set again (first set on line %d)", k.Line, line))
			continue
		case !known:
			d.fail("", fmt.Errorf("line %d: unknown key %q%s", k.Line, k.Value, inPath(path)))
			continue
		}
		seen[k.Value] = k.Line
		if !isNull(resolveAlias(value)) {
			d.from[key] = d.file + ": " + key
		}
		d.value(value, key, v.Field(index))
	}
}

// merge decodes the mapping, or list of mappings, of a merge key; the
// first mapping of a list wins, as in YAML.
func (d *keyDecoder) merge(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		d.mapping(n, path, v)
		return
	}
	for i := len(n.Content) - 1; i >= 0; i-- {
		d.mapping(n.Content[i], path, v)
	}
}

// value decodes one value: a nested section, a list of entries, or a
// setting.
func (d *keyDecoder) value(n *yaml.Node, path string, v reflect.Value) {
	switch {
	case v.Kind() == reflect.Struct:
		d.mapping(n, path, v)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		d.list(n, path, v)
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(path, decodeError(n, v.Type(), err))
		}
	}
}

// list decodes a list of entries (shops, sites), each a mapping.
func (d *keyDecoder) list(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(path, fmt.Errorf("line %d: expected a list", n.Line))
		return
	}
	entries := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		entry := fmt.Sprintf("%s[%d]", path, i)
		d.from[entry] = d.file + ": " + entry
		d.mapping(item, entry, entries.Index(i))
	}
	v.Set(entries)
}

// decodeError says what a value should have been. The decoders of our own
// types (yamlBool, secretList) say it themselves; the YAML library's own
// messages are replaced, and never quote a string, which may be a secret.
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

// yamlFields maps the yaml tags of a struct's fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" {
			fields[tag] = i
		}
	}
	return fields
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
