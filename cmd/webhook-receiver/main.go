// Command webhook-receiver turns Shopify and WooCommerce order webhooks into
// Open edX enrollments.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
)

func main() {
	err := cli.RunEnviron(context.Background(), os.Args, os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		if !errors.Is(err, cli.ErrUsage) {
			fmt.Fprintln(os.Stderr, "webhook-receiver:", err)
		}
		os.Exit(1)
	}
}
