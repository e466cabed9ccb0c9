package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/live"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
)

// node is the part of a Kuzet node under test: a site session of the
// camera feeding the live view, served over HTTP.
type node struct {
	live   *live.Server
	reg    *prometheus.Registry
	srv    *http.Server
	base   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startNode(url string, part, segment time.Duration) (*node, error) {
	reg := prometheus.NewRegistry()
	lv, err := live.New(live.Options{Part: part, Segment: segment, IdleStop: 2 * time.Second,
		Cameras: []string{"Camera1"}, Registerer: reg})
	if err != nil {
		return nil, err
	}
	st := site.New(site.Options{
		Cameras: []config.Camera{{ID: "Camera1", URL: url, Transport: "tcp",
			OfflineAfter: config.Duration(10 * time.Second)}},
		Consumers:  []media.Consumer{lv.Consumer()},
		Logger:     slog.New(slog.DiscardHandler),
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/live/", lv)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{live: lv, reg: reg, srv: &http.Server{Handler: mux}, cancel: cancel,
		base: "http://" + ln.Addr().String() + "/live/Camera1/"}
	n.wg.Add(3)
	go func() { defer n.wg.Done(); st.Run(ctx) }()
	go func() { defer n.wg.Done(); lv.Run(ctx) }()
	go func() { defer n.wg.Done(); _ = n.srv.Serve(ln) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.base + "index.m3u8")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n, nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("%w: %v", errNotReady, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitIdle waits until the camera's muxer has stopped for lack of viewers.
func (n *node) waitIdle(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		mfs, err := n.reg.Gather()
		if err == nil {
			for _, mf := range mfs {
				if mf.GetName() == "kuzet_live_muxers" && len(mf.GetMetric()) == 1 && mf.GetMetric()[0].GetGauge().GetValue() == 0 {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("live muxer still running %v after the last viewer left", timeout)
}

func (n *node) stop() {
	_ = n.srv.Close()
	n.cancel()
	n.wg.Wait()
}
