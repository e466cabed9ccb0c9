package live

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// fileKind is what a URL under a camera names.
type fileKind int

const (
	filePlaylist fileKind = iota
	fileInit
	fileSegment
	filePart
)

func (k fileKind) String() string {
	return [...]string{"playlist", "init", "segment", "part"}[k]
}

// parseFile parses the file name of a request: index.m3u8, initN.mp4,
// segN.mp4 or partN.mp4.
func parseFile(name string) (fileKind, uint64, error) {
	if name == "index.m3u8" {
		return filePlaylist, 0, nil
	}
	base, ok := strings.CutSuffix(name, ".mp4")
	if !ok {
		return 0, 0, fmt.Errorf("no such file %q (the playlist is index.m3u8)", name)
	}
	for _, k := range []struct {
		prefix string
		kind   fileKind
	}{{"init", fileInit}, {"seg", fileSegment}, {"part", filePart}} {
		digits, ok := strings.CutPrefix(base, k.prefix)
		if !ok {
			continue
		}
		n, err := parseNumber(digits)
		if err != nil {
			return 0, 0, fmt.Errorf("no such file %q: %v", name, err)
		}
		return k.kind, n, nil
	}
	return 0, 0, fmt.Errorf("no such file %q", name)
}

// parseNumber accepts plain decimal digits only (no sign, no spaces).
func parseNumber(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// directives are the LL-HLS delivery directives of a playlist request.
type directives struct {
	msn, part       uint64
	hasMSN, hasPart bool
}

// parseDirectives reads _HLS_msn, _HLS_part and _HLS_skip from a raw query;
// other parameters (cache busters, tokens) are ignored.
func parseDirectives(rawQuery string) (directives, error) {
	var d directives
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return d, fmt.Errorf("bad query %q: %v", rawQuery, err)
	}
	for key, vals := range q {
		if !strings.HasPrefix(key, "_HLS_") {
			continue
		}
		if len(vals) != 1 {
			return d, fmt.Errorf("%s given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "_HLS_msn":
			if d.msn, err = parseNumber(v); err != nil {
				return d, fmt.Errorf("_HLS_msn: %v", err)
			}
			d.hasMSN = true
		case "_HLS_part":
			if d.part, err = parseNumber(v); err != nil {
				return d, fmt.Errorf("_HLS_part: %v", err)
			}
			d.hasPart = true
		case "_HLS_skip":
			// delta updates are not offered (no CAN-SKIP-UNTIL): a full
			// playlist is always a valid answer
			if v != "YES" && v != "v2" {
				return d, fmt.Errorf("_HLS_skip=%q: must be YES or v2", v)
			}
		default:
			return d, fmt.Errorf("unknown delivery directive %s", key)
		}
	}
	if d.hasPart && !d.hasMSN {
		return d, fmt.Errorf("_HLS_part without _HLS_msn")
	}
	return d, nil
}
