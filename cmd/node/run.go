package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/sdnotify"
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
	var a *agent.Agent
	ready := func() {
		// under systemd (Type=notify): started, then alive while the
		// stores answer (WatchdogSec); elsewhere nothing is sent
		if err := sdnotify.Notify("READY=1\nSTATUS=node " + cfg.Node.ID + " running"); err != nil {
			log.Warn("tell the service manager the node is ready", "err", err)
		}
		if every := sdnotify.Watchdog(); every > 0 {
			go watchdog(ctx, a, every/2, log)
		}
	}
	a, err := agent.New(cfg, log, agent.Options{Version: version, Ready: ready})
	if err != nil {
		return err
	}
	// the manager learns of the stop when it begins, not when it ends
	stop := context.AfterFunc(ctx, func() { _ = sdnotify.Notify("STOPPING=1") })
	defer stop()
	return a.Run(ctx)
}

// watchdog tells the service manager the node is alive every period, as
// long as it is: a node whose stores stop answering is restarted by it.
func watchdog(ctx context.Context, a *agent.Agent, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := a.Alive(ctx); err != nil {
			log.Error("not alive: the service manager's watchdog is not fed", "err", err)
		} else if err := sdnotify.Notify("WATCHDOG=1"); err != nil {
			log.Warn("feed the service manager's watchdog", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	switch c.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "journal":
		return slog.New(newJournalHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
