package woo

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrNotList is returned for an answer that is not a JSON array where the
// API answers a list: a misconfigured site (an HTML page, a plugin's error).
var ErrNotList = errors.New("answer is not a JSON list")

// elements returns the elements of a JSON array, or ErrNotList.
func elements(body []byte) ([]json.RawMessage, error) {
	var elems []json.RawMessage
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '[' {
		return nil, ErrNotList
	}
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, ErrNotList
	}
	return elems, nil
}

// str is a JSON string's value; any other value is "".
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// numberText is the text of a JSON number, or of the number a string holds.
func numberText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		return strings.TrimSpace(str(raw))
	}
	return string(raw)
}

// positiveID reads a positive integer id from a JSON number or numeric
// string; anything else is not ok.
func positiveID(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(numberText(raw), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// seats reads a refunded quantity, which WooCommerce writes negative, as a
// count of seats: its absolute value, at most MaxInt32. Anything that is
// not a whole number is 0.
func seats(raw json.RawMessage) int {
	t := strings.TrimPrefix(numberText(raw), "-")
	t = strings.TrimSuffix(t, ".0") // a float quantity of a whole number
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return int(min(n, math.MaxInt32))
}

// wooDateGMT is the layout of WooCommerce's *_gmt dates: UTC without a zone.
const wooDateGMT = "2006-01-02T15:04:05"

// gmtTime reads a *_gmt date; an odd or implausible one is zero.
func gmtTime(raw json.RawMessage) time.Time {
	t, err := time.Parse(wooDateGMT, str(raw))
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}
