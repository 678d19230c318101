package cli

import (
	"context"
	"fmt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
)

func migrate(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	fs := newFlagSet(env, "migrate", "Create or upgrade the database schema, then exit.")
	flags.register(fs)
	createDirs := registerCreateDirs(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := flags.load(env)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, newLogger(cfg, env.stderr), *createDirs)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(env.stdout, "database %s is up to date\n", config.RedactURL(cfg.DatabaseURL))
	return nil
}
