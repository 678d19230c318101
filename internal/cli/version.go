package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X .../internal/cli.version=v1.2.3".
var version = "dev"

func printVersion(env *environment, args []string) error {
	fs := newFlagSet(env, "version", "Print the version.")
	if err := parse(fs, args); err != nil {
		return err
	}
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(env.stdout, "webhook-receiver %s%s %s\n", version, rev, runtime.Version())
	return nil
}
