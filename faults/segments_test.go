package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// segCheck is how the site's segments fared at each tier.
type segCheck struct {
	site       int            // segments in the site's index
	held       map[string]int // node -> of those, held byte-identical
	regionAny  int            // held byte-identical by at least one region replica
	bad        []string       // violations
	siteBytes  int64
	parentOnly map[string]int // node -> segments of the site it indexes that the site does not
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// originPath is a parent's index path in the origin's layout (what the
// protocol names a segment by): a parent keeps a child's files under a
// directory of the origin's, <origin>/Camera1/... or, in newer layouts,
// under a prefix such as .replicas/<origin>/Camera1/...
func originPath(p string) string {
	if i := strings.Index("/"+p, "/"+siteID+"/"+cameraID+"/"); i >= 0 {
		return p[i+len(siteID)+1:]
	}
	return p
}

// checkSegmentFiles: under policy all, every segment the site recorded is
// at the centre and at the region tier (at least one replica), with the
// site's sha256 in the parent's index and on the parent's disk; no copy
// anywhere differs.
func (r *report) checkSegmentFiles(c *cluster) {
	sc := segCheck{held: map[string]int{}, parentOnly: map[string]int{}}
	own := r.segs[siteID]
	sc.site = len(own)
	idx := map[string]map[string]segment{} // node -> origin path -> record
	for _, id := range nodeIDs {
		if id == siteID {
			continue
		}
		idx[id] = map[string]segment{}
		for _, s := range r.segs[id] {
			idx[id][originPath(s.Path)] = s
		}
	}
	var centreMissing, regionMissing []string
	ownPaths := map[string]bool{}
	for _, s := range own {
		ownPaths[s.Path] = true
		sc.siteBytes += s.Bytes
		if got, err := fileSHA256(filepath.Join(r.archive[siteID], filepath.FromSlash(s.Path))); err != nil || got != s.SHA256 {
			sc.bad = append(sc.bad, fmt.Sprintf("segments: the site's own %s: %s (its index says sha256 %s)", s.Path, shaOrErr(got, err), short(s.SHA256)))
			continue
		}
		sc.held[siteID]++
		inRegion := false
		for _, id := range append(slices.Clone(regionIDs), centreID) {
			rec, ok := idx[id][s.Path]
			if !ok {
				if id == centreID {
					centreMissing = append(centreMissing, s.Path)
				}
				continue
			}
			file := filepath.Join(r.archive[id], filepath.FromSlash(rec.Path))
			got, err := fileSHA256(file)
			switch {
			case rec.SHA256 != s.SHA256:
				sc.bad = append(sc.bad, fmt.Sprintf("segments: %s indexes %s with sha256 %s; the site's is %s", id, s.Path, short(rec.SHA256), short(s.SHA256)))
			case err != nil || got != s.SHA256:
				sc.bad = append(sc.bad, fmt.Sprintf("segments: %s's copy of %s: %s; the site's is %s", id, s.Path, shaOrErr(got, err), short(s.SHA256)))
			default:
				sc.held[id]++
				if id != centreID {
					inRegion = true
				}
			}
		}
		if inRegion {
			sc.regionAny++
		} else {
			regionMissing = append(regionMissing, s.Path)
		}
	}
	for id, m := range idx {
		for p := range m {
			if !ownPaths[p] {
				sc.parentOnly[id]++
			}
		}
	}
	if len(centreMissing) > 0 {
		sc.bad = append(sc.bad, fmt.Sprintf("segments: %d of the site's %d segments are not at the centre: %s", len(centreMissing), len(own), listSome(centreMissing, 6)))
	}
	if len(regionMissing) > 0 {
		sc.bad = append(sc.bad, fmt.Sprintf("segments: %d of the site's %d segments are at no region replica: %s", len(regionMissing), len(own), listSome(regionMissing, 6)))
	}
	if len(own) == 0 {
		sc.bad = append(sc.bad, "segments: the site's index lists no segment of "+cameraID+": nothing was recorded, so nothing was checked")
	}
	r.seg = sc
}

func shaOrErr(sha string, err error) string {
	if err != nil {
		return err.Error()
	}
	return "sha256 " + short(sha) + " on disk"
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12] + "…"
	}
	return sha
}

func listSome(xs []string, n int) string {
	if len(xs) > n {
		return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
	}
	return strings.Join(xs, ", ")
}

func TestOriginPath(t *testing.T) {
	for in, want := range map[string]string{
		"site/Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4":           "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4",
		".replicas/site/Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4": "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4",
		"Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4":                "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4",
		"othersite/Camera1/x.mp4":                                           "othersite/Camera1/x.mp4",
	} {
		if got := originPath(in); got != want {
			t.Errorf("originPath(%q) = %q, want %q", in, got, want)
		}
	}
}
