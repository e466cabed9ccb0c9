package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/timesync"
)

// certWarn is how close to its end a certificate is named as a warning.
const certWarn = 30 * 24 * time.Hour

// cmdCheck is `kuzet check -c node.yaml`: what a restart would meet, told
// before it — the configuration, the directories, the certificates, each
// camera's stream and each NTP server — one line each, "ok", "warn" or
// "FAIL". Any FAIL exits non-zero.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "node.yaml", "configuration file")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each camera and server may take to answer")
	short := fs.Bool("allow-short-retention", false, "accept retention under 30 days (tests only)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	failed := 0
	line := func(state, what, detail string) {
		if state == "FAIL" {
			failed++
		}
		fmt.Fprintf(stdout, "%-4s %-34s %s\n", state, what, detail)
	}
	cfg, err := config.LoadFile(*path, config.Options{AllowShortRetention: *short})
	if err != nil {
		line("FAIL", "configuration", err.Error())
		return fmt.Errorf("%s: %d check failed", *path, failed)
	}
	line("ok", "configuration", fmt.Sprintf("%s: node %s, %d cameras", *path, cfg.Node.ID, len(cfg.Cameras)))
	for _, d := range []struct{ what, dir string }{{"node.data_dir", cfg.Node.DataDir}, {"archive.root", cfg.Archive.Root}} {
		if err := writable(d.dir); err != nil {
			line("FAIL", d.what, err.Error())
		} else {
			line("ok", d.what, d.dir+" is writable")
		}
	}
	checkCerts(cfg, line)

	// the cameras and the time servers, all at once
	type result struct{ state, what, detail string }
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	add := func(r result) { mu.Lock(); results = append(results, r); mu.Unlock() }
	for _, c := range cfg.Cameras {
		if c.Disabled {
			add(result{"ok", "camera " + c.ID, "disabled: not checked"})
			continue
		}
		streams := [][2]string{{"camera " + c.ID, c.URL}}
		if c.SubPath != "" {
			streams = append(streams, [2]string{"camera " + c.ID + " sub-stream", c.SubURL()})
		}
		for _, s := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				tr, err := site.Probe(cctx, c.ID, s[1], c.Transport, *timeout)
				if err != nil {
					add(result{"FAIL", s[0], err.Error()})
					return
				}
				detail := string(tr.Codec)
				if w, h, ok := tr.Resolution(); ok && w > 0 {
					detail += fmt.Sprintf(" %dx%d", w, h)
				}
				add(result{"ok", s[0], detail})
			}()
		}
	}
	for _, srv := range cfg.Time.NTP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := timesync.Ask(srv, *timeout)
			switch {
			case !st.OK:
				add(result{"FAIL", "NTP " + srv, st.Error})
			case math.Abs(st.Offset) > float64(cfg.Time.MaxOffset.Std()/time.Millisecond):
				add(result{"warn", "NTP " + srv, fmt.Sprintf("the clock is off by %.0f ms (time.max_offset %v)", st.Offset, cfg.Time.MaxOffset.Std())})
			default:
				add(result{"ok", "NTP " + srv, fmt.Sprintf("offset %.1f ms, stratum %d", st.Offset, st.Stratum)})
			}
		}()
	}
	wg.Wait()
	// by name, so that the output reads the same every time
	slices.SortFunc(results, func(a, b result) int { return strings.Compare(a.what, b.what) })
	for _, r := range results {
		line(r.state, r.what, r.detail)
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d checks failed", *path, failed)
	}
	return nil
}

// checkCerts loads the node's certificates as the node would and names
// one that ends soon.
func checkCerts(cfg *config.Config, line func(state, what, detail string)) {
	ends := func(what string, notAfter time.Time) {
		switch left := time.Until(notAfter); {
		case left <= 0:
			line("FAIL", what, "expired at "+notAfter.UTC().Format(time.RFC3339))
		case left < certWarn:
			line("warn", what, fmt.Sprintf("expires in %d days (%s)", int(left.Hours()/24), notAfter.UTC().Format(time.RFC3339)))
		default:
			line("ok", what, "valid until "+notAfter.UTC().Format(time.RFC3339))
		}
	}
	if t := cfg.Federation.TLS; t.Cert != "" {
		id, err := pki.LoadIdentity(t.CA, t.Cert, t.Key, cfg.Federation.Revoked)
		switch {
		case err != nil:
			line("FAIL", "federation.tls", err.Error())
		case id.NodeID != cfg.Node.ID:
			line("FAIL", "federation.tls", fmt.Sprintf("the certificate names node %q, this node is %q", id.NodeID, cfg.Node.ID))
		default:
			ends("federation.tls", id.NotAfter())
		}
	}
	for _, c := range []struct{ what, cert, key string }{
		{"http.tls", cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key},
		{"seals.tls", cfg.Seals.TLS.Cert, cfg.Seals.TLS.Key},
	} {
		if c.cert == "" {
			continue
		}
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			line("FAIL", c.what, err.Error())
			continue
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			line("FAIL", c.what, err.Error())
			continue
		}
		ends(c.what, leaf.NotAfter)
	}
}

// writable makes dir if need be and writes a file in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".kuzet-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(filepath.Clean(name))
}
