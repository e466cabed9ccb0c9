package livetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// Mode is how a player picks the next part to wait for.
type Mode int

const (
	// HLSJS asks, like hls.js, for the part after the last one listed:
	// part 0 of the next segment when the last listed part ends a complete
	// segment.
	HLSJS Mode = iota
	// Naive always asks for the last listed part's index + 1 in the same
	// segment, even past the end of a complete segment.
	Naive
)

func (m Mode) String() string {
	if m == Naive {
		return "naive"
	}
	return "hls.js"
}

// Fetch is one downloaded part.
type Fetch struct {
	MSN    uint64
	Index  int
	URI    string
	At     time.Time // when its last byte arrived
	Stamps []Stamp   // of its frames (StampSEI)
	Frames int
	Data   []byte // kept when Player.KeepData is set
}

// Boundary is a blocking reload for the part after the last part of a
// complete segment; the server must answer it with part 0 of the next one.
type Boundary struct {
	MSN          uint64 // the complete segment
	Part         int    // what was asked for (_HLS_part)
	NextListed   bool   // the answer lists part 0 of MSN+1
	NextComplete bool   // the answer lists MSN+1 as complete: it was held too long
	Wait         time.Duration
}

// Player follows a camera's live playlist with blocking reloads and
// downloads every new part.
type Player struct {
	Base     string // http://host:port/live/Camera1/
	Mode     Mode
	Client   *http.Client
	KeepData bool
	OnFetch  func(Fetch) // called for every part, from Run's goroutine
}

// Result is what a player saw.
type Result struct {
	Init       []byte
	Fetches    []Fetch
	Boundaries []Boundary
	Reloads    int
}

// Latencies returns, for every stamped frame fetched, the time from its
// sending to the download of the part that holds it.
func (r *Result) Latencies() []time.Duration {
	var out []time.Duration
	for _, f := range r.Fetches {
		for _, s := range f.Stamps {
			out = append(out, f.At.Sub(s.Sent))
		}
	}
	return out
}

// Run plays until ctx ends; it returns what it got so far and the first
// error other than ctx's end.
func (p *Player) Run(ctx context.Context) (*Result, error) {
	res := &Result{}
	pl, err := p.playlist(ctx, "")
	if err != nil {
		return res, err
	}
	if len(pl.Segments) == 0 {
		return res, fmt.Errorf("first playlist lists no segment")
	}
	if res.Init, err = p.get(ctx, pl.Segments[len(pl.Segments)-1].Map); err != nil {
		return res, err
	}
	lastMSN, lastIdx, ok := pl.LastPart()
	if !ok {
		return res, fmt.Errorf("first playlist lists no part")
	}
	for ctx.Err() == nil {
		seg := pl.Segment(lastMSN)
		atEnd := seg != nil && seg.Complete() && lastIdx == len(seg.Parts)-1
		msn, part := lastMSN, lastIdx+1
		if p.Mode == HLSJS && atEnd {
			msn, part = lastMSN+1, 0
		}
		t0 := time.Now()
		next, err := p.playlist(ctx, "?_HLS_msn="+strconv.FormatUint(msn, 10)+"&_HLS_part="+strconv.Itoa(part))
		if err != nil {
			return res, ignoreEnd(ctx, err)
		}
		res.Reloads++
		if atEnd && p.Mode == Naive {
			b := Boundary{MSN: lastMSN, Part: part, Wait: time.Since(t0)}
			if s := next.Segment(lastMSN + 1); s != nil {
				b.NextListed = len(s.Parts) > 0
				b.NextComplete = s.Complete()
			}
			res.Boundaries = append(res.Boundaries, b)
		}
		pl = next
		for _, s := range pl.Segments {
			for i, pt := range s.Parts {
				if s.MSN < lastMSN || (s.MSN == lastMSN && i <= lastIdx) {
					continue
				}
				f, err := p.fetch(ctx, s.MSN, i, pt.URI)
				if err != nil {
					return res, ignoreEnd(ctx, err)
				}
				res.Fetches = append(res.Fetches, f)
				if p.OnFetch != nil {
					p.OnFetch(f)
				}
				lastMSN, lastIdx = s.MSN, i
			}
		}
	}
	return res, nil
}

func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (p *Player) playlist(ctx context.Context, query string) (*Playlist, error) {
	b, err := p.get(ctx, "index.m3u8"+query)
	if err != nil {
		return nil, err
	}
	pl, err := ParsePlaylist(b)
	if err != nil {
		return nil, fmt.Errorf("index.m3u8%s: %w", query, err)
	}
	return pl, nil
}

func (p *Player) fetch(ctx context.Context, msn uint64, idx int, uri string) (Fetch, error) {
	b, err := p.get(ctx, uri)
	f := Fetch{MSN: msn, Index: idx, URI: uri, At: time.Now()}
	if err != nil {
		return f, err
	}
	if f.Stamps, f.Frames, err = PartStamps(b); err != nil {
		return f, fmt.Errorf("part %s: %w", uri, err)
	}
	if p.KeepData {
		f.Data = b
	}
	return f, nil
}

func (p *Player) get(ctx context.Context, rel string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+rel, nil)
	if err != nil {
		return nil, err
	}
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rel, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", rel, resp.Status, b)
	}
	return b, nil
}

// PartStamps parses an fMP4 part and returns the stamps of its frames and
// how many frames it holds.
func PartStamps(b []byte) ([]Stamp, int, error) {
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return nil, 0, err
	}
	var out []Stamp
	frames := 0
	for _, pt := range parts {
		for _, tr := range pt.Tracks {
			for _, s := range tr.Samples {
				frames++
				var au h264.AVCC
				if err := au.Unmarshal(s.Payload); err != nil {
					return nil, 0, fmt.Errorf("sample %d: %w", frames, err)
				}
				for _, n := range au {
					if t, ok := ParseStamp(n); ok {
						out = append(out, t)
						break
					}
				}
			}
		}
	}
	return out, frames, nil
}

// Percentile returns the p-th percentile (0..100) of ds, nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
