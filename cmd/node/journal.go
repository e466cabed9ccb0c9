package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
)

// journalHandler writes slog's text lines with the sd-daemon priority
// prefix ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) that
// journald reads as each line's priority (log.format: journal), so that
// `journalctl -p warning -u kuzet` shows what needs attention.
type journalHandler struct {
	mu  *sync.Mutex
	w   io.Writer
	buf *bytes.Buffer
	h   slog.Handler // a text handler writing into buf
}

func newJournalHandler(w io.Writer, opts *slog.HandlerOptions) *journalHandler {
	buf := &bytes.Buffer{}
	// journald stamps each line itself
	o := *opts
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	return &journalHandler{mu: &sync.Mutex{}, w: w, buf: buf, h: slog.NewTextHandler(buf, &o)}
}

func (j *journalHandler) Enabled(ctx context.Context, l slog.Level) bool { return j.h.Enabled(ctx, l) }

func (j *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	prefix := "<6>"
	switch {
	case r.Level >= slog.LevelError:
		prefix = "<3>"
	case r.Level >= slog.LevelWarn:
		prefix = "<4>"
	case r.Level < slog.LevelInfo:
		prefix = "<7>"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf.Reset()
	j.buf.WriteString(prefix)
	if err := j.h.Handle(ctx, r); err != nil {
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	return err
}

func (j *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{mu: j.mu, w: j.w, buf: j.buf, h: j.h.WithAttrs(as)}
}

func (j *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{mu: j.mu, w: j.w, buf: j.buf, h: j.h.WithGroup(name)}
}
