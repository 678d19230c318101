package server

import "net/http"

// addRoutes lists every endpoint. Webhook paths answer with or without a
// trailing slash, as the Django app did; other methods get 405.
func addRoutes(mux *http.ServeMux, d Deps) {
	webhook := func(path string, h http.Handler) {
		mux.Handle("POST "+path, h)
		mux.Handle("POST "+path+"/{$}", h)
	}
	intake := newIntake(d)
	webhook("/webhooks/shopify", intake.shopify(""))
	webhook("/webhooks/shopify/order/create", intake.shopify("orders/create"))
	webhook("/webhooks/shopify/order/paid", intake.shopify("orders/paid"))
	webhook("/webhooks/shopify/order/cancelled", intake.shopify("orders/cancelled"))
	webhook("/webhooks/shopify/refund/create", intake.shopify("refunds/create"))
	webhook("/webhooks/shopify/customers/redact", intake.shopify("customers/redact"))
	webhook("/webhooks/shopify/shop/redact", intake.shopify("shop/redact"))
	webhook("/webhooks/shopify/customers/data_request", intake.shopify("customers/data_request"))
	woo := intake.wooCommerceOrder()
	webhook("/webhooks/woocommerce/order/create", woo)
	webhook("/webhooks/woocommerce/order/update", woo)
	if d.Admin != nil {
		mux.Handle("/admin/", d.Admin)
		mux.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
	}
	addHealthRoutes(mux, d)
}

func addHealthRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(d.Logger, d.DB))
	if d.Config.MetricsListen == "" { // otherwise metrics are served there only
		mux.Handle("GET /metrics", d.Metrics.Handler())
	}
}
