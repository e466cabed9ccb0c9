package archive

import (
	"fmt"
	"path"
	"time"
)

// SegmentPath is the archive-relative path of a segment starting at start,
// in the node's time zone (CGR-4.2c):
//
//	Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4
//
// variant 0 is the plain name; variant 1 adds the start second
// (…_14_05_30.mp4) for a second file within the same minute, and variant
// n > 1 adds a counter after that (…_14_05_30_2.mp4), which only happens when
// two files start within the same second (e.g. a camera flapping).
func SegmentPath(camera string, start time.Time, loc *time.Location, variant int) string {
	t := start.In(loc)
	dir := path.Join(camera, fmt.Sprintf("%04d", t.Year()), fmt.Sprintf("%02d", t.Month()),
		fmt.Sprintf("%02d", t.Day()), fmt.Sprintf("%02d", t.Hour()))
	name := fmt.Sprintf("%s_%04d_%02d_%02d_%02d_%02d", camera, t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
	switch {
	case variant == 1:
		name += fmt.Sprintf("_%02d", t.Second())
	case variant > 1:
		name += fmt.Sprintf("_%02d_%d", t.Second(), variant)
	}
	return path.Join(dir, name+".mp4")
}

// CGRLink is the archive link form the plate API expects (CGR-4.3):
// backslash-separated, e.g. Camera1\2025\08\18\11\Camera1_2025_08_18_11_05.mp4.
func CGRLink(rel string) string {
	b := []byte(rel)
	for i, c := range b {
		if c == '/' {
			b[i] = '\\'
		}
	}
	return string(b)
}

// nextBoundary returns the first wall-clock multiple of seg (counted from
// local midnight in loc) strictly after t.
func nextBoundary(t time.Time, seg time.Duration, loc *time.Location) time.Time {
	lt := t.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	n := lt.Sub(midnight)/seg + 1
	return midnight.Add(n * seg)
}

// SubSuffix marks the recorded sub-stream of a camera in the index and
// the archive's folders ("Camera1~sub"), beside the camera's main stream.
const SubSuffix = "~sub"
