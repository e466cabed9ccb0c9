package main

import (
	"context"
	"flag"
	"io"
	"log/slog"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/config"
)

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "node.yaml", "configuration file")
	short := fs.Bool("allow-short-retention", false, "accept retention under 30 days (tests only)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	cfg, err := config.LoadFile(*path, config.Options{AllowShortRetention: *short})
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	return runAgent(ctx, cfg, log)
}

func runAgent(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := agent.New(cfg, log, agent.Options{Version: version})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
