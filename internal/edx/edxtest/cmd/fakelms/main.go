// Command fakelms runs the fake Open edX LMS of package edxtest on its own,
// for a first try of webhook-receiver without an Open edX at hand:
//
//	go run ./internal/edx/edxtest/cmd/fakelms
//
// It issues OAuth2 tokens and answers the bulk enrollment API, the accounts
// lookup and the Enrollment API as the LMS does (every well-formed course
// exists and offers the modes of --modes, every learner has an account),
// logs each call, and stops on Ctrl-C. It is not part of the
// webhook-receiver binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fakelms:", err)
		}
		os.Exit(2)
	}
}

// run serves the fake LMS until ctx ends. It prints the settings that point
// webhook-receiver at it on stdout, and logs each call on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakelms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:18000", "address to listen on (port 0: any free port)")
	clientID := fs.String("client-id", "test-client", "the OAuth2 client id it accepts")
	clientSecret := fs.String("client-secret", "test-secret", "the OAuth2 client secret it accepts")
	modes := fs.String("modes", "audit,verified", "comma-separated enrollment modes every course offers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	lms, err := edxtest.Listen(edxtest.Options{
		Addr: *listen, ClientID: *clientID, ClientSecret: *clientSecret,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	defer lms.Close()
	var offered []string
	for m := range strings.SplitSeq(*modes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			offered = append(offered, m)
		}
	}
	lms.SetModes(offered...)
	fmt.Fprintf(stdout, `fake Open edX LMS on %[1]s: every well-formed course exists (modes %[4]s) and every learner has an account.
Point webhook-receiver at it (each call is logged here; Ctrl-C stops it):

export WEBHOOK_RECEIVER_LMS_BASE_URL=%[1]s
export WEBHOOK_RECEIVER_OAUTH2_KEY=%[2]s
export WEBHOOK_RECEIVER_OAUTH2_SECRET=%[3]s

`, lms.URL, lms.ClientID, lms.ClientSecret, strings.Join(offered, ", "))
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopped")
	return nil
}
