package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/kuzet/kuzet/live/livetest"
	"github.com/kuzet/kuzet/testcam"
)

// runCamera is the camera child: a testcam with a stamped publisher on
// pub1. It prints the URL to read and runs until stdin closes.
func runCamera(fps int) error {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		return err
	}
	defer src.Close()
	pub, err := livetest.Publish(src.URL("pub1"), fps)
	if err != nil {
		return err
	}
	fmt.Println(src.URL("pub1"))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // the parent closes stdin to stop us
	return pub.Close()
}

// modeStats are one kind of player's figures.
type modeStats struct {
	Players       int     `json:"players"`
	Parts         int     `json:"parts"`
	Frames        int     `json:"frames"`
	MedianMS      float64 `json:"median_ms"`
	P95MS         float64 `json:"p95_ms"`
	MaxMS         float64 `json:"max_ms"`
	Boundaries    int     `json:"segment_end_requests,omitempty"`
	BoundaryHeld  int     `json:"segment_end_requests_held,omitempty"`
	BoundaryMaxMS float64 `json:"segment_end_wait_max_ms,omitempty"`
	Errors        int     `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runViewers is the viewers child: n players of each listed mode follow
// base for warmup+window; only parts fetched after the warmup count. It
// prints "measuring" when the warmup ends and the figures as JSON at the
// end.
func runViewers(base string, n int, modes []livetest.Mode, warmup, window time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), warmup+window)
	defer cancel()
	from := time.Now().Add(warmup)
	go func() {
		time.Sleep(time.Until(from))
		fmt.Println("measuring")
	}()
	type one struct {
		mode livetest.Mode
		res  *livetest.Result
		err  error
	}
	var mu sync.Mutex
	var all []one
	var wg sync.WaitGroup
	for _, mode := range modes {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := &livetest.Player{Base: base, Mode: mode,
					Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}}
				res, err := p.Run(ctx)
				mu.Lock()
				all = append(all, one{mode, res, err})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	out := map[string]*modeStats{}
	lat := map[string][]time.Duration{}
	for _, o := range all {
		st := out[o.mode.String()]
		if st == nil {
			st = &modeStats{}
			out[o.mode.String()] = st
		}
		st.Players++
		if o.err != nil {
			st.Errors++
			if st.FirstError == "" {
				st.FirstError = o.err.Error()
			}
		}
		if o.res == nil {
			continue
		}
		for _, f := range o.res.Fetches {
			if f.At.Before(from) {
				continue
			}
			st.Parts++
			for _, s := range f.Stamps {
				lat[o.mode.String()] = append(lat[o.mode.String()], f.At.Sub(s.Sent))
			}
		}
		for _, b := range o.res.Boundaries {
			st.Boundaries++
			if !b.NextListed || b.NextComplete {
				st.BoundaryHeld++
			}
			st.BoundaryMaxMS = max(st.BoundaryMaxMS, ms(b.Wait))
		}
	}
	for mode, st := range out {
		l := lat[mode]
		st.Frames = len(l)
		st.MedianMS = ms(livetest.Percentile(l, 50))
		st.P95MS = ms(livetest.Percentile(l, 95))
		st.MaxMS = ms(livetest.Percentile(l, 100))
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
