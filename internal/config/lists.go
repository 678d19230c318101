package config

// list is a YAML list of entries (shopify, woocommerce). The fields of
// its entries are the rows of the settings table whose keys start with
// "<key>[]."; the environment and the Django app's file each give one
// entry, merged into the list by its id.
type list struct {
	key    string              // YAML key of the list, and of its section in the Django app's WEBHOOK_RECEIVER_SETTINGS
	noun   string              // what an entry is, for errors: "shop"
	id     string              // the field that names an entry: "shop_domain"
	others string              // how a warning names the fields other than the id and secrets
	idKey  func(string) string // the form in which two ids compare equal
	items  items
}

// items gives typed access to a list's entries in a Config. Entries are
// passed around as pointers (*Shop, *Site), which the rows' kinds take.
type items interface {
	new() any
	len(c *Config) int
	at(c *Config, i int) any
	// set makes the list these entries, copied.
	set(c *Config, entries []any)
}

// itemsOf returns the entries of type E of a Config.
type itemsOf[E any] func(*Config) *[]E

func (f itemsOf[E]) new() any                { return new(E) }
func (f itemsOf[E]) len(c *Config) int       { return len(*f(c)) }
func (f itemsOf[E]) at(c *Config, i int) any { return &(*f(c))[i] }

func (f itemsOf[E]) set(c *Config, entries []any) {
	var out []E // nil when empty, as in Default
	for _, e := range entries {
		out = append(out, *e.(*E))
	}
	*f(c) = out
}

// listByKey returns the list with this YAML key, or nil.
func listByKey(key string) *list {
	for _, l := range lists {
		if l.key == key {
			return l
		}
	}
	return nil
}

// yamlOnly tells whether the list is set in the new YAML file only: none
// of its fields has a variable or a key in the Django app's file.
func (l *list) yamlOnly() bool {
	for _, s := range l.fields() {
		if s.env != "" || s.legacyKey != "" {
			return false
		}
	}
	return true
}

// fields are the rows of the list's entries.
func (l *list) fields() []*setting {
	var out []*setting
	for i := range settings {
		if name, _, ok := settings[i].listKey(); ok && name == l.key {
			out = append(out, &settings[i])
		}
	}
	return out
}

// field returns the row of the entries' field with this YAML key.
func (l *list) field(key string) *setting { return lookup(l.key + "[]." + key) }

// legacyField returns the row of the field with this key in the Django
// app's file, or nil.
func (l *list) legacyField(key string) *setting {
	for _, s := range l.fields() {
		if s.legacyKey == key {
			return s
		}
	}
	return nil
}

// idOf returns an entry's id.
func (l *list) idOf(entry any) string { return l.field(l.id).kind.show(entry) }

// index returns the index of the entry with this id, or -1.
func (l *list) index(entries []any, id string) int {
	key := l.idKey(id)
	for i, e := range entries {
		if l.idKey(l.idOf(e)) == key {
			return i
		}
	}
	return -1
}

// indexIn is index for the entries of c.
func (l *list) indexIn(c *Config, id string) int {
	entries := make([]any, l.items.len(c))
	for i := range entries {
		entries[i] = l.items.at(c, i)
	}
	return l.index(entries, id)
}
