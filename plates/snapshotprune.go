package plates

import (
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// PruneSnapshots removes the days of plate snapshots that are past their
// camera's retention, so that the photos go with the video they show:
// dir/CAMERA/YYYY/MM/DD for this node's cameras, dir/ORIGIN/CAMERA/...
// for copies fetched from nodes below. keep gives a camera's retention
// (origin is "" for this node's own); a day is removed once its last
// moment, in loc, is older than that. It returns the days removed and the
// bytes freed; what cannot be read or removed is left for the next sweep.
func PruneSnapshots(dir string, loc *time.Location, now time.Time, keep func(origin, camera string) time.Duration) (days int, freed int64) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range top {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if hasYears(p) { // this node's camera
			d, f := pruneCamera(p, loc, now, keep("", e.Name()))
			days, freed = days+d, freed+f
			continue
		}
		cams, _ := os.ReadDir(p) // a node below: its cameras
		for _, c := range cams {
			if c.IsDir() {
				d, f := pruneCamera(filepath.Join(p, c.Name()), loc, now, keep(e.Name(), c.Name()))
				days, freed = days+d, freed+f
			}
		}
	}
	return days, freed
}

// hasYears reports whether dir holds year folders (a camera's).
func hasYears(dir string) bool {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if _, ok := number(e.Name(), 4); ok && e.IsDir() {
			return true
		}
	}
	return false
}

func number(s string, digits int) (int, bool) {
	if len(s) != digits {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// pruneCamera removes camDir's days older than retention, and the month
// and year folders they leave empty.
func pruneCamera(camDir string, loc *time.Location, now time.Time, retention time.Duration) (days int, freed int64) {
	if retention <= 0 {
		return 0, 0
	}
	cutoff := now.Add(-retention)
	years, _ := os.ReadDir(camDir)
	for _, y := range years {
		yn, ok := number(y.Name(), 4)
		if !ok || !y.IsDir() {
			continue
		}
		yDir := filepath.Join(camDir, y.Name())
		months, _ := os.ReadDir(yDir)
		for _, m := range months {
			mn, ok := number(m.Name(), 2)
			if !ok || !m.IsDir() {
				continue
			}
			mDir := filepath.Join(yDir, m.Name())
			ds, _ := os.ReadDir(mDir)
			for _, d := range ds {
				dn, ok := number(d.Name(), 2)
				if !ok || !d.IsDir() {
					continue
				}
				end := time.Date(yn, time.Month(mn), dn, 0, 0, 0, 0, loc).AddDate(0, 0, 1)
				if !end.Before(cutoff) {
					continue
				}
				dDir := filepath.Join(mDir, d.Name())
				size := dirSize(dDir)
				if os.RemoveAll(dDir) == nil {
					days, freed = days+1, freed+size
				}
			}
			_ = os.Remove(mDir) // only when empty
		}
		_ = os.Remove(yDir)
	}
	return days, freed
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
