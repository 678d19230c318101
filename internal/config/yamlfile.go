package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// file applies the YAML file at path (WEBHOOK_RECEIVER_CONFIG or --config)
// on top of the configuration. name is the flag or variable that named the
// file; errors start with it and the path. Its keys are the rows of the
// settings table: "lms.timeout" is key timeout of section lms, and
// "shopify[].secrets" key secrets of each entry of the list shopify. An
// unknown key is an error.
func (l *loader) file(name, path string) {
	where := name + " " + path
	data, err := os.ReadFile(path)
	if err != nil {
		l.fail("%s: %w", name, err)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.fail("%s: %w", where, syntaxError(err))
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	d := &fileDecoder{file: where, from: l.c.from.keys, set: map[string]bool{}, lists: map[string]*decodedList{}}
	d.mapping(doc.Content[0], "", "", l.c)
	d.secretFiles()
	if len(d.errs) > 0 {
		l.errs = append(l.errs, d.errs...)
		return
	}
	for _, lst := range lists {
		if dl, ok := d.lists[lst.key]; ok {
			l.merge(lst, dl.entries, dl.from)
		}
	}
}

// fileDecoder decodes the YAML file key by key, rather than with
// yaml.Decoder, so that every error names its file and key
// ("WEBHOOK_RECEIVER_CONFIG /etc/x.yaml: lms.timeout: line 3: ..."), and
// every problem is found at once. The settings it decodes are recorded in
// from, as their source.
type fileDecoder struct {
	file  string // the source name and path of the file
	from  map[string]string
	set   map[string]bool // the paths of the settings the file set
	files []secretFile    // key_file settings, read once every key is known
	lists map[string]*decodedList
	errs  []error
}

// decodedList is a list of entries as the file gives it.
type decodedList struct {
	entries []any
	from    []entrySource
}

// secretFile is a key_file setting: the path of a file holding a secret.
type secretFile struct {
	s    *setting
	path string // the YAML path of the key_file key
	file string
	dst  any
}

// fail records a problem with the value at a YAML path, or with the
// document when path is empty.
func (d *fileDecoder) fail(path string, err error) {
	var item *itemError
	switch {
	case path == "":
		d.errs = append(d.errs, fmt.Errorf("%s: %w", d.file, err))
	case errors.As(err, &item):
		d.errs = append(d.errs, fmt.Errorf("%s: %s[%d]: %w", d.file, path, item.index, item.err))
	default:
		d.errs = append(d.errs, fmt.Errorf("%s: %s: %w", d.file, path, err))
	}
}

// mapping decodes a mapping into dst (the Config, or an entry of a list).
// path is its YAML path ("lms", "shopify[1]"), schema the same path as the
// settings table writes it ("lms", "shopify[]").
func (d *fileDecoder) mapping(n *yaml.Node, path, schema string, dst any) {
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
			d.merge(n.Content[i+1], path, schema, dst)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, value := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		key, skey := joinPath(path, k.Value), joinPath(schema, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.fail(key, fmt.Errorf("line %d: set again (first set on line %d)", k.Line, line))
			continue
		}
		seen[k.Value] = k.Line
		s := lookup(skey)
		file := fileSetting(skey)
		switch {
		case s != nil && s.kind != nil:
			d.setting(s, value, key, dst)
		case file != nil:
			if isNull(resolveAlias(value)) {
				continue
			}
			p, err := yamlValue[string](value, false)
			if err != nil {
				d.fail(key, err)
				continue
			}
			d.files = append(d.files, secretFile{s: file, path: key, file: p, dst: dst})
		case isSection(skey):
			d.mapping(value, key, skey, dst)
		case schema == "" && listByKey(skey) != nil:
			d.list(value, key, listByKey(skey))
		default:
			d.fail("", fmt.Errorf("line %d: unknown key %q%s", k.Line, k.Value, inPath(path)))
		}
	}
}

// setting decodes the value of one setting; null leaves it as it is.
func (d *fileDecoder) setting(s *setting, n *yaml.Node, path string, dst any) {
	if isNull(resolveAlias(n)) {
		return
	}
	if err := s.kind.decode(dst, n, false); err != nil {
		d.fail(path, err)
		return
	}
	d.set[path] = true
	if _, _, inList := s.listKey(); !inList {
		d.from[s.key] = d.file + ": " + path
	}
}

// secretFiles reads the secrets of the key_file settings.
func (d *fileDecoder) secretFiles() {
	for _, f := range d.files {
		plain := strings.TrimSuffix(f.path, "_file")
		if d.set[plain] {
			d.fail("", fmt.Errorf("%s and %s are both set: use one", plain, f.path))
			continue
		}
		secret, err := readSecretFile(f.file)
		if err != nil {
			d.fail(f.path, err)
			continue
		}
		f.s.kind.parse(f.dst, secret) // a secret takes any text
		d.set[plain] = true
		if _, _, inList := f.s.listKey(); !inList {
			d.from[f.s.key] = d.file + ": " + f.path
		}
	}
}

// merge decodes the mapping, or list of mappings, of a merge key; the
// first mapping of a list wins, as in YAML.
func (d *fileDecoder) merge(n *yaml.Node, path, schema string, dst any) {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		d.mapping(n, path, schema, dst)
		return
	}
	for i := len(n.Content) - 1; i >= 0; i-- {
		d.mapping(n.Content[i], path, schema, dst)
	}
}

// list decodes a list of entries (shops, sites), each a mapping.
func (d *fileDecoder) list(n *yaml.Node, path string, lst *list) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(path, fmt.Errorf("line %d: expected a list", n.Line))
		return
	}
	dl := &decodedList{}
	for i, item := range n.Content {
		entry := fmt.Sprintf("%s[%d]", path, i)
		e := lst.items.new()
		d.mapping(item, entry, lst.key+"[]", e)
		dl.entries = append(dl.entries, e)
		dl.from = append(dl.from, entrySource{at: d.file + ": " + entry})
	}
	d.lists[lst.key] = dl
}

// fileSetting returns the secret whose file this key names ("lms.oauth2_secret_file"), or nil.
func fileSetting(key string) *setting {
	base, ok := strings.CutSuffix(key, "_file")
	if !ok {
		return nil
	}
	if s := lookup(base); s != nil && s.kind != nil && s.kind.fileKey() {
		return s
	}
	return nil
}

// isSection tells whether key is a section of settings ("lms").
func isSection(key string) bool {
	for i := range settings {
		if strings.HasPrefix(settings[i].key, key+".") {
			return true
		}
	}
	return false
}
