package jobs

import (
	"context"
	"log/slog"
)

// riverLogger is the logger River gets. River reports its routine at INFO
// (job counts every few seconds, each job that returned an error), which
// the workers' own "enrollment attempt" lines already tell in the
// receiver's terms: it gets River's warnings and errors only, unless the
// service logs at debug level, when it gets everything.
func riverLogger(logger *slog.Logger) *slog.Logger {
	logger = logger.With("component", "queue")
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		return logger
	}
	return slog.New(minLevel{Handler: logger.Handler(), level: slog.LevelWarn})
}

// minLevel passes on the records of level or above to its handler.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.level {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), level: h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), level: h.level}
}
