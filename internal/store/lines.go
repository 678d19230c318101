package store

import "github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"

// An order's line items, as its items show them: a line naming several
// learners is several items with the same line item id and SKU.

// Line is one line item of an order and the seats it bought.
type Line struct {
	LineItemID int64
	SKU        string
	Seats      enroll.Seats
	// ItemIDs are the line's items (its learners), oldest first.
	ItemIDs []int64
}

// lineKey tells lines apart: orders imported from the Django app have no
// line item ids, and one line never holds two SKUs.
type lineKey struct {
	id  int64
	sku string
}

// Lines returns the order's lines in the order of their first item.
func (o OrderRecord) Lines() []Line {
	var lines []Line
	index := map[lineKey]int{}
	quantity := map[lineKey]int{}
	refunded := map[lineKey]int{}
	for _, it := range o.Items {
		k := lineKey{it.LineItemID, it.SKU}
		i, ok := index[k]
		if !ok {
			i = len(lines)
			index[k] = i
			lines = append(lines, Line{LineItemID: it.LineItemID, SKU: it.SKU})
		}
		lines[i].ItemIDs = append(lines[i].ItemIDs, it.ID)
		quantity[k] = max(quantity[k], it.LineQuantity)
		if it.Refunded {
			refunded[k]++
		}
	}
	for i, l := range lines {
		k := lineKey{l.LineItemID, l.SKU}
		lines[i].Seats = enroll.LineSeats(quantity[k], len(l.ItemIDs), refunded[k])
	}
	return lines
}

// SeatsByItem returns the seats of each item's line, by item id.
func (o OrderRecord) SeatsByItem() map[int64]enroll.Seats {
	seats := map[int64]enroll.Seats{}
	for _, l := range o.Lines() {
		for _, id := range l.ItemIDs {
			seats[id] = l.Seats
		}
	}
	return seats
}
