// Package livetest holds what live view tests and benchmarks share: a
// camera publisher that stamps every frame with its send time, an LL-HLS
// media playlist parser and players that follow a live playlist the way
// hls.js does or naively.
package livetest

import (
	"fmt"
	"strconv"
	"strings"
)

// Playlist is a parsed LL-HLS media playlist.
type Playlist struct {
	TargetDuration int
	PartTarget     float64
	CanBlockReload bool
	MediaSequence  uint64
	DiscSequence   uint64
	Independent    bool // EXT-X-INDEPENDENT-SEGMENTS
	Segments       []Segment
	PreloadHint    string // URI of the hinted part
}

// Segment is a media segment, complete (with URI and duration) or the
// partial one at the end.
type Segment struct {
	MSN           uint64
	Map           string
	Discontinuity bool
	DateTime      string
	Parts         []Part
	Duration      float64
	URI           string // empty while incomplete
}

// Complete reports whether the segment has its EXTINF line.
func (s *Segment) Complete() bool { return s.URI != "" }

// Part is an EXT-X-PART.
type Part struct {
	URI         string
	Duration    float64
	Independent bool
}

// ParsePlaylist parses a media playlist strictly enough to catch a server
// that breaks the format.
func ParsePlaylist(b []byte) (*Playlist, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		return nil, fmt.Errorf("playlist does not start with #EXTM3U")
	}
	p := &Playlist{}
	cur := Segment{}
	mapURI := ""
	started := false // cur holds tags or parts
	inf := -1.0
	for i, line := range lines[1:] {
		n := i + 2
		tag, val, _ := strings.Cut(line, ":")
		var err error
		switch {
		case line == "":
			continue
		case tag == "#EXT-X-VERSION":
		case tag == "#EXT-X-TARGETDURATION":
			p.TargetDuration, err = strconv.Atoi(val)
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			p.MediaSequence, err = strconv.ParseUint(val, 10, 64)
		case tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			p.DiscSequence, err = strconv.ParseUint(val, 10, 64)
		case tag == "#EXT-X-INDEPENDENT-SEGMENTS":
			p.Independent = true
		case tag == "#EXT-X-SERVER-CONTROL":
			p.CanBlockReload = attrs(val)["CAN-BLOCK-RELOAD"] == "YES"
		case tag == "#EXT-X-PART-INF":
			p.PartTarget, err = strconv.ParseFloat(attrs(val)["PART-TARGET"], 64)
		case tag == "#EXT-X-MAP":
			mapURI = attrs(val)["URI"]
			if mapURI == "" {
				err = fmt.Errorf("EXT-X-MAP without URI")
			}
		case tag == "#EXT-X-DISCONTINUITY":
			cur.Discontinuity, started = true, true
		case tag == "#EXT-X-PROGRAM-DATE-TIME":
			cur.DateTime, started = val, true
		case tag == "#EXT-X-PART":
			a := attrs(val)
			part := Part{URI: a["URI"], Independent: a["INDEPENDENT"] == "YES"}
			part.Duration, err = strconv.ParseFloat(a["DURATION"], 64)
			if part.URI == "" {
				err = fmt.Errorf("EXT-X-PART without URI")
			}
			cur.Parts = append(cur.Parts, part)
			started = true
		case tag == "#EXTINF":
			d, _, _ := strings.Cut(val, ",")
			inf, err = strconv.ParseFloat(d, 64)
		case tag == "#EXT-X-PRELOAD-HINT":
			a := attrs(val)
			if a["TYPE"] != "PART" || a["URI"] == "" {
				err = fmt.Errorf("bad preload hint %q", val)
			}
			p.PreloadHint = a["URI"]
		case strings.HasPrefix(line, "#"):
			err = fmt.Errorf("unexpected tag %q", tag)
		default: // a segment URI
			if inf < 0 {
				err = fmt.Errorf("segment %q without EXTINF", line)
				break
			}
			cur.URI, cur.Duration = line, inf
			cur.Map = mapURI
			cur.MSN = p.MediaSequence + uint64(len(p.Segments))
			p.Segments = append(p.Segments, cur)
			cur, started, inf = Segment{}, false, -1
		}
		if err != nil {
			return nil, fmt.Errorf("playlist line %d %q: %v", n, line, err)
		}
	}
	if inf >= 0 {
		return nil, fmt.Errorf("EXTINF without a segment URI at the end")
	}
	if started {
		cur.Map = mapURI
		cur.MSN = p.MediaSequence + uint64(len(p.Segments))
		p.Segments = append(p.Segments, cur)
	}
	if p.TargetDuration <= 0 {
		return nil, fmt.Errorf("playlist has no EXT-X-TARGETDURATION")
	}
	return p, nil
}

// attrs splits an attribute list (KEY=VALUE,KEY="VALUE").
func attrs(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, "\"") {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				break
			}
			v, rest = rest[1:1+end], rest[2+end:]
			rest = strings.TrimPrefix(rest, ",")
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		out[k] = v
		s = rest
	}
	return out
}

// LastPart returns the segment number and index of the last listed part.
func (p *Playlist) LastPart() (msn uint64, idx int, ok bool) {
	for i := len(p.Segments) - 1; i >= 0; i-- {
		if s := &p.Segments[i]; len(s.Parts) > 0 {
			return s.MSN, len(s.Parts) - 1, true
		}
	}
	return 0, 0, false
}

// Segment returns segment msn, or nil.
func (p *Playlist) Segment(msn uint64) *Segment {
	if msn < p.MediaSequence || msn-p.MediaSequence >= uint64(len(p.Segments)) {
		return nil
	}
	return &p.Segments[msn-p.MediaSequence]
}
