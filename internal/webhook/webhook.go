// Package webhook turns the raw bytes of a shop's order and refund webhooks
// into enroll types and checks the signature the shop put on them. It does no
// I/O, so the server can call it on an untrusted body and the fuzzers can hammer it.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The server answers 400 with the error text for both, so wrapped detail
// stays short and never repeats the body.
var (
	ErrInvalidJSON = errors.New("body is not valid JSON")
	ErrNotOrder    = errors.New("body is not an order: no id")
	ErrNotRefund   = errors.New("body is not a refund: no order_id")
)

// decodeObject decodes a body into a struct of json.RawMessage fields. Such
// a struct only fails on bad syntax or a top level that is not an object,
// which is reported as notObject.
func decodeObject(body []byte, v any, notObject error) error {
	if err := json.Unmarshal(body, v); err != nil && !json.Valid(body) {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if b := bytes.TrimSpace(body); b[0] != '{' {
		return fmt.Errorf("body is %s: %w", kind(b), notObject)
	}
	return nil
}

// lineItems returns the line item objects. Null or missing means no items;
// any other shape leaves nothing to enroll, so it is an error.
func lineItems(raw json.RawMessage) ([]json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("line_items is %s: %w", kind(raw), ErrNotOrder)
	}
	for i, elem := range elems {
		if elem[0] != '{' {
			return nil, fmt.Errorf("line item %d is %s: %w", i, kind(elem), ErrNotOrder)
		}
	}
	return elems, nil
}

// parseID reads a shop id from its JSON text rather than through float64,
// which would round ids above 2^53. Shops may also send the id as a string.
// A missing or null id is 0.
func parseID(raw json.RawMessage) (int64, error) {
	if isNull(raw) {
		return 0, nil
	}
	id, ok := positive(raw, 64)
	if !ok {
		return 0, fmt.Errorf("id %.24q is not a positive integer: %w", numberText(raw), ErrNotOrder)
	}
	return id, nil
}

// positive reads a positive integer of at most bits bits from a JSON number
// or numeric string; anything else is 0, not ok.
func positive(raw json.RawMessage, bits int) (int64, bool) {
	n, err := strconv.ParseInt(numberText(raw), 10, bits)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// numberText is the text of a JSON number, or of the number a string holds.
func numberText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		return str(raw)
	}
	return string(raw)
}

// quantity reads a count of seats: a positive integer, which a database
// INTEGER column holds on every backend. Anything else, missing included,
// is 1, the one seat every line has.
func quantity(raw json.RawMessage) int {
	if n, ok := positive(raw, 32); ok {
		return int(n)
	}
	return 1
}

// maxQuantity is the largest quantity the parsers return.
const maxQuantity = math.MaxInt32

// Shops' times before 1970 or after 9999 are no real times; a database
// column or a JSON encoder could not take some of them either.
var (
	earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timestamp reads a time in one of layouts, in UTC (a layout without a
// zone means UTC). A missing, odd or implausible time is zero: it only
// costs the ordering of snapshots, never the payload.
func timestamp(raw json.RawMessage, layouts ...string) time.Time {
	s := str(raw)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t = t.UTC(); t.Before(earliest) || !t.Before(latest) {
				return time.Time{}
			}
			return t
		}
	}
	return time.Time{}
}

// nonEmptyArray reports whether raw is an array with at least one element.
func nonEmptyArray(raw json.RawMessage) bool {
	if len(raw) == 0 || raw[0] != '[' {
		return false
	}
	rest := bytes.TrimLeft(raw[1:], " \t\r\n")
	return len(rest) > 0 && rest[0] != ']'
}

// orderID is parseID for the order itself, where the id is required.
func orderID(raw json.RawMessage) (int64, error) {
	id, err := parseID(raw)
	if err == nil && id == 0 {
		return 0, ErrNotOrder
	}
	return id, err
}

// str returns the trimmed value of a JSON string, and "" for any other
// shape: a field of the wrong type counts as absent.
func str(raw json.RawMessage) string {
	// raw comes from a document the decoder checked: a value that does not
	// start with a quote is no string, and a string without escapes reads
	// as its bytes once its UTF-8 is valid.
	n := len(raw)
	if n == 0 || raw[0] != '"' {
		return ""
	}
	if raw[n-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return strings.TrimSpace(string(raw[1 : n-1]))
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	// NUL is valid JSON but no database text column takes it: it becomes
	// U+FFFD, so the order is stored and an email holding it fails validation.
	return strings.TrimSpace(strings.ReplaceAll(s, "\x00", "\uFFFD"))
}

// elements returns the elements of a JSON array, and nil for any other shape.
func elements(raw json.RawMessage) []json.RawMessage {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil
	}
	return elems
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// kind names the JSON type of a valid raw value for error messages.
func kind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// firstNonEmpty applies the shops' email fallbacks.
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
