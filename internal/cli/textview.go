package cli

// Helpers of the operator commands' text output (tables and plain lines).

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// course is the item's course id, or its SKU until the course is known.
func course(it store.ItemRecord) string {
	if it.CourseID != "" {
		return it.CourseID
	}
	return dash(it.SKU)
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
