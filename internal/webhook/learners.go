package webhook

import (
	"strings"
	"unicode"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// learners collects the distinct addresses of the learners a line names. A
// value may hold several, separated by commas, semicolons or newlines; an
// address is kept once, in its first spelling, whatever its case.
type learners struct {
	list []string
	seen map[string]bool // fold keys of list, once it is long
}

// manyLearners is the length from which learners looks addresses up in a
// map rather than comparing them one by one.
const manyLearners = 16

// add adds the addresses value holds.
func (l *learners) add(value string) {
	for piece := range strings.FieldsFuncSeq(value, isAddressSeparator) {
		piece = strings.TrimSpace(piece)
		if piece == "" || l.has(piece) {
			continue
		}
		l.list = append(l.list, piece)
		if l.seen != nil {
			l.seen[foldKey(piece)] = true
		} else if len(l.list) == manyLearners {
			l.seen = make(map[string]bool, 2*manyLearners)
			for _, a := range l.list {
				l.seen[foldKey(a)] = true
			}
		}
	}
}

func (l *learners) has(address string) bool {
	if l.seen != nil {
		return l.seen[foldKey(address)]
	}
	for _, a := range l.list {
		if strings.EqualFold(a, address) {
			return true
		}
	}
	return false
}

func isAddressSeparator(r rune) bool {
	return r == ',' || r == ';' || r == '\n' || r == '\r'
}

// foldKey maps s to a key that two strings share exactly when
// strings.EqualFold holds for them: each rune becomes the smallest rune of
// its case-folding orbit.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// appendLine appends the items of one line: one per learner it names, or
// one for the buyer when it names none, all with the line's id, SKU and
// seats. Items without a SKU or an email stay in, so the job can report why
// they were not enrolled instead of the order losing them.
func appendLine(items []enroll.Item, lineItemID int64, sku string, seats int, l *learners, buyer string) []enroll.Item {
	if len(l.list) == 0 {
		return append(items, enroll.Item{LineItemID: lineItemID, SKU: sku, Email: buyer, Quantity: seats})
	}
	for _, email := range l.list {
		items = append(items, enroll.Item{LineItemID: lineItemID, SKU: sku, Email: email, Quantity: seats})
	}
	return items
}
