package store_test

import (
	"context"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// A shop's lock is held by one at a time, across processes (two pools
// of one database), per shop and per purpose, and free again once
// released.
func TestTryLockShop(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, d)
			open := func() *store.DB {
				db, err := store.Open(ctx, url, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			one, other := open(), open()
			try := func(db *store.DB, what, source string) (func(), bool) {
				t.Helper()
				unlock, ok, err := db.TryLockShop(ctx, what, enroll.Shopify, source)
				if err != nil {
					t.Fatal(err)
				}
				return unlock, ok
			}
			unlock, ok := try(one, store.LockReconcile, "a.myshopify.com")
			if !ok {
				t.Fatal("the first lock was not taken")
			}
			if _, ok := try(other, store.LockReconcile, "a.myshopify.com"); ok {
				t.Error("another process took a held lock")
			}
			if _, ok := try(one, store.LockReconcile, "a.myshopify.com"); ok {
				t.Error("the same process took a held lock twice")
			}
			for _, l := range []struct{ what, source string }{{store.LockCheck, "a.myshopify.com"},
				{store.LockReconcile, "b.myshopify.com"}} {
				u, ok := try(other, l.what, l.source)
				if !ok {
					t.Errorf("%s of %s is locked by another's", l.what, l.source)
					continue
				}
				u()
			}
			unlock()
			u, ok := try(other, store.LockReconcile, "a.myshopify.com")
			if !ok {
				t.Fatal("a released lock was not taken")
			}
			u()
		})
	}
}
