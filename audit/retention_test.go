package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/boltfile"
)

// simClock is a clock the test moves by hand.
type simClock struct{ t time.Time }

func (c *simClock) Now() time.Time { return c.t }

// Ten weeks of a region's life at two weeks' retention: its own audit
// entries, a site's events and audit entries coming up, an uplink that
// stays down for three weeks. The log keeps what the uplink has not
// taken; the file levels off once retention drops as much as arrives,
// and gives back what the outage took once compacted; every chain still
// verifies, its start attested by a checkpoint.
func TestRetentionLevelsOffAndKeepsTheChain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	l := openLog(t, path, "region")
	clk := &simClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec, err := New(l, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	site := openLog(t, filepath.Join(dir, "site.db"), "site")
	siteRec, err := New(site, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	keep := 14 * 24 * time.Hour
	ret := &event.Retainer{Log: l, Keep: keep, Now: clk.Now, BeforeDrop: func(through uint64) error {
		anchors, err := AnchorsThrough(l, through)
		if err != nil {
			return err
		}
		return rec.Checkpoint(anchors, through)
	}}
	l.HoldCursor("upstream")
	var shipped, lastSite uint64
	sizes := map[int]int64{}
	down := func(week int) bool { return week >= 4 && week <= 6 }
	for hour := 0; hour < 10*7*24; hour++ {
		clk.t = clk.t.Add(time.Hour)
		week := hour / (7 * 24)
		// the site: 30 camera events an hour and an audit entry
		for range 30 {
			if _, err := site.Append(event.Event{Kind: event.KindCameraState, Camera: "Camera1", Time: clk.t,
				Payload: json.RawMessage(`{"state":"recording","detail":"a few words of payload like a real event carries"}`)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := siteRec.Record(Entry{User: "op", Action: ActionPlayArchive, Object: "Camera1"}); err != nil {
			t.Fatal(err)
		}
		batch, _ := site.Range(lastSite, 0)
		lastSite = batch[len(batch)-1].Pos
		if _, err := l.Ingest(batch, "site"); err != nil {
			t.Fatal(err)
		}
		if hour%3 == 0 {
			if _, err := rec.Record(Entry{User: "admin", Action: ActionConfigChange, Object: fmt.Sprint(hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if !down(week) {
			shipped = l.Last()
			if err := l.SetCursor("upstream", shipped); err != nil {
				t.Fatal(err)
			}
		}
		if hour%24 == 23 {
			s, err := ret.Sweep()
			if err != nil {
				t.Fatal(err)
			}
			if down(week) && s.Dropped > 0 && s.Through > shipped {
				t.Fatalf("day %d: dropped through %d while the link had taken only %d", hour/24, s.Through, shipped)
			}
			if down(week) && hour/24 >= 4*7+14 && s.HeldBy != "cursor upstream" {
				t.Fatalf("day %d: the down link does not show as holding the log: %+v", hour/24, s)
			}
		}
		if hour%(7*24) == 7*24-1 {
			st, _ := os.Stat(path)
			sizes[week] = st.Size()
		}
	}
	t.Logf("events.db at the end of each week (bytes): %v", sizes)
	// from week 3 retention drops a day for each day that arrives: the
	// file stops growing, and after the outage it grows no further
	if sizes[3] > sizes[2]*11/10 || sizes[9] > sizes[7]*21/20 {
		t.Fatalf("the file keeps growing: %v", sizes)
	}
	first, _ := l.Get(l.First())
	if age := clk.t.Sub(first[0].Time); age > keep+48*time.Hour {
		t.Fatalf("oldest event is %v old with %v retention", age, keep)
	}
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(all)
	if !rep.OK || !rep.Intact || len(rep.Chains) != 2 {
		t.Fatalf("after retention: %+v", rep)
	}
	for _, c := range rep.Chains {
		if c.Compacted == 0 || c.First != c.Compacted+1 || c.CheckpointBy == "" {
			t.Fatalf("chain %s does not show its dropped start: %+v", c.Origin, c)
		}
	}
	// the recorder carries on across a restart from the head left, and
	// the space the outage took is given back when the file is compacted
	l.Close()
	c, ok, err := boltfile.CompactIfSparse(path, 0)
	if err != nil || !ok || c.After > sizes[3]*11/10 {
		t.Fatalf("compaction = %+v %v %v (steady size %d)", c, ok, err, sizes[3])
	}
	t.Logf("compacted after the outage: %d → %d bytes", c.Before, c.After)
	l = openLog(t, path, "region")
	defer l.Close()
	rec2, err := New(l, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s, h := rec2.Head(); s == 0 || h == "" {
		t.Fatalf("head after restart = %d %q", s, h)
	}

	// deleting the first entry kept, or changing a checkpoint's anchor,
	// is caught
	l.Close()
	cp := copyFile(t, path)
	editDB(t, cp, func(b *bolt.Bucket, evs []rawEvent) {
		for _, r := range evs {
			if r.m["kind"] == Kind && r.m["origin"] == "site" {
				var k [8]byte
				putPos(k[:], r.pos)
				_ = b.Delete(k[:])
				return
			}
		}
	})
	if ok, _ := VerifyFile(cp, io_discard{}); ok {
		t.Fatal("a deleted entry after the anchor went unnoticed")
	}
	cp = copyFile(t, path)
	editDB(t, cp, func(b *bolt.Bucket, evs []rawEvent) {
		for _, r := range evs {
			if r.m["kind"] == Kind && r.payload()["action"] == ActionCheckpoint {
				p := r.payload()
				p["detail"] = `[{"origin":"site","seq":1,"hash":"` + fmt.Sprintf("%064d", 0) + `"}]`
				put(t, b, r.pos, r.m)
				return
			}
		}
	})
	if ok, _ := VerifyFile(cp, io_discard{}); ok {
		t.Fatal("a rewritten checkpoint went unnoticed")
	}
	l = openLog(t, path, "region") // for the deferred Close
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

func putPos(k []byte, pos uint64) {
	for i := 7; i >= 0; i-- {
		k[i] = byte(pos)
		pos >>= 8
	}
}
