package shopify

import (
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/fuzztest"
)

func TestFuzzTargets(t *testing.T) {
	fuzztest.Run(t, "FuzzParseOrder")
}
