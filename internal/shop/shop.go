// Package shop holds what the shops' API clients (shopify, woo) give
// alike: the orders they read, each as the webhook of the same order reads,
// and what a reading of a shop's orders went through. It knows no shop's
// wire format; its subpackages do.
package shop

import (
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Found is an order read from a shop's API.
type Found struct {
	// Order is the order as the webhook parser reads Body: the same order a
	// webhook of it gives; Source is the shop's domain (Shopify) or left
	// for the caller (WooCommerce, whose site URL the caller knows as its
	// webhooks name it).
	Order enroll.Order
	// Body is the webhook body the order reads as (Shopify: an orders/*
	// body; WooCommerce: the REST order, which is what its webhooks send),
	// kept with what is stored of it so that it can be replayed.
	Body []byte
	// Refunds are the order's refunds the order's own answer lists
	// (Shopify); WooCommerce's are read apart (woo.Client.Refunds).
	Refunds []Refund
}

// Refund is a refund read from a shop's API.
type Refund struct {
	Refund enroll.Refund
	// Body is the refund as read: a refunds/create webhook body (Shopify),
	// or the REST refund (WooCommerce, which has no refund webhook).
	Body []byte
}

// Result says what a reading of a shop's orders went through.
type Result struct {
	// Since is the start of the window read: the since asked for, or a
	// later one when the shop cannot be read that far back (Warnings
	// says so).
	Since time.Time
	// Warnings are for the operator: a window capped, a site that ignored
	// the window, an order left out.
	Warnings []string
	Pages    int
	Orders   int
	Refunds  int
	// Skipped are the orders that could not be read, one error each; the
	// other orders are read all the same.
	Skipped []error
	// Waits is how many times the client waited for the shop's rate
	// limit (a cost bucket to refill, a 429's Retry-After), and Waited
	// how long in all.
	Waits  int
	Waited time.Duration
}
