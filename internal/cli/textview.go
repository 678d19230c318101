package cli

// Helpers of the operator commands' text output (tables and plain lines).
//
// Much of what they print comes from outside: learner emails, notes, SKUs,
// shop domains, headers and bodies of deliveries. None of it may reach the
// operator's terminal as control characters (an ESC sequence recolours or
// retitles it, a CR overwrites a line): text output goes through
// plainWriter, and table cells through dash, which write them as escapes.
// --json output is escaped by encoding/json.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// dash is a table cell: "-" when empty, control characters (tabs and line
// breaks too, which would break the table) escaped.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return escapeControls(s, false)
}

// escapeControls writes the characters of s that a terminal would act on
// as Go-style escapes: C0 controls (ESC, CR, BEL, ...), DEL, C1 controls,
// bytes that are not UTF-8 (a lone 0x9b is CSI to some terminals), and the
// bidirectional overrides that reorder how a line reads. keepNewlines
// leaves line breaks alone, for multi-line output.
func escapeControls(s string, keepNewlines bool) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] >= 0x20 && s[i] < 0x7f || s[i] == '\n' && keepNewlines
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// plainWriter escapes control characters other than line breaks in what
// is written through it (see escapeControls). Each Write is escaped on its
// own: fmt and tabwriter write whole strings, so a character is never cut
// in two; if one were, its bytes would be shown escaped, never raw.
type plainWriter struct{ w io.Writer }

// plain returns w wrapped in a plainWriter.
func plain(w io.Writer) io.Writer { return plainWriter{w} }

func (p plainWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, escapeControls(string(b), true)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// course is the item's course id, or its SKU until the course is known.
func course(it store.ItemRecord) string {
	if it.CourseID != "" {
		return dash(it.CourseID)
	}
	return dash(it.SKU)
}

// itemStatus is an item's status, and where it is going when the status
// alone does not say (enroll.ItemStatus.Towards): "retrying → unenrolled".
func itemStatus(it store.ItemRecord) string {
	if w := it.Status.Towards(it.Want); w != "" {
		return dash(string(it.Status)) + " → " + dash(string(w))
	}
	return dash(string(it.Status))
}

// mode is an item's enrollment mode, "default" for the course's own.
func mode(m string) string {
	if m == "" {
		return "default"
	}
	return dash(m)
}

// yes is a yes/no cell.
func yes(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// count reads "1 stale snapshot", "2 stale snapshots".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func httpStatus(s int) string {
	if s == 0 {
		return "-"
	}
	return strconv.Itoa(s)
}

// prettyBody indents a JSON body; other bodies are shown as they are.
func prettyBody(body []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		return string(body)
	}
	return b.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, " ")
}
