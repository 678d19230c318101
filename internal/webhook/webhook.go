// Package webhook turns the raw bytes of a shop's "order created" webhook into
// an enroll.Order and checks the signature the shop put on them. It does no
// I/O, so the server can call it on an untrusted body and the fuzzers can hammer it.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The server answers 400 with the error text for both, so wrapped detail
// stays short and never repeats the body.
var (
	ErrInvalidJSON = errors.New("body is not valid JSON")
	ErrNotOrder    = errors.New("body is not an order: no id")
)

// decodeOrder decodes a body into a struct of json.RawMessage fields. Such a
// struct only fails on bad syntax or a top level that is not an object.
func decodeOrder(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil && !json.Valid(body) {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if b := bytes.TrimSpace(body); b[0] != '{' {
		return fmt.Errorf("body is %s: %w", kind(b), ErrNotOrder)
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
	s := string(raw)
	if raw[0] == '"' {
		s = str(raw)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %.24q is not a positive integer: %w", s, ErrNotOrder)
	}
	return id, nil
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
