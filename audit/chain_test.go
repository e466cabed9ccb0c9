package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// writeChain records n entries for origin site-1, with other events in
// between as on a real node, and closes the log.
func writeChain(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	l := openLog(t, path, "site-1")
	defer l.Close()
	rec, err := New(l, Options{Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{ActionLogin, ActionViewLive, ActionPlayArchive, ActionExportArchive, ActionCorrectPlate, ActionAckAlarm, ActionConfigChange, ActionLogout}
	for i := 1; i <= n; i++ {
		if _, err := l.Append(event.New(event.KindCameraState, "Camera1", event.SeverityInfo, map[string]int{"i": i})); err != nil {
			t.Fatal(err)
		}
		_, err := rec.Record(Entry{User: "olga", Role: "operator", Action: actions[(i-1)%len(actions)],
			Object: fmt.Sprintf("Camera1 clip %d", i), Detail: "from the console", Source: "10.1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func verifyFile(t *testing.T, path string) (bool, string, []Problem) {
	t.Helper()
	var out bytes.Buffer
	ok, err := VerifyFile(path, &out)
	if err != nil {
		t.Fatal(err)
	}
	evs, unreadable, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ok, out.String(), append(unreadable, Verify(evs)...)
}

func expectOne(t *testing.T, ps []Problem, kind, eventID string, seq uint64, detail string) {
	t.Helper()
	if len(ps) != 1 {
		t.Fatalf("want exactly one problem, got %d: %v", len(ps), ps)
	}
	p := ps[0]
	if p.Kind != kind || p.EventID != eventID || p.AuditSeq != seq || !strings.Contains(p.Detail, detail) || p.Origin != "site-1" {
		t.Fatalf("problem %+v, want %s at %s (audit seq %d) mentioning %q", p, kind, eventID, seq, detail)
	}
}

func TestTamperDetection(t *testing.T) {
	path := writeChain(t, 8)

	ok, out, ps := verifyFile(t, path)
	if !ok || len(ps) != 0 || !strings.Contains(out, "site-1: 8 entries, seq 1..8") || !strings.Contains(out, "ok: every audit chain is intact") {
		t.Fatalf("untouched chain: ok=%v problems=%v\n%s", ok, ps, out)
	}

	t.Run("altered", func(t *testing.T) {
		p := copyFile(t, path)
		var id string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			r := byAuditSeq(t, evs, 4)
			r.payload()["detail"] = "nothing happened"
			id = r.id()
			put(t, b, r.pos, r.m)
		})
		ok, out, ps := verifyFile(t, p)
		if ok {
			t.Fatal("altered entry not detected")
		}
		expectOne(t, ps, ProblemAltered, id, 4, "changed after it was written")
		if !strings.Contains(out, "altered: event "+id+" (audit seq 4") || !strings.Contains(out, "BROKEN") {
			t.Fatalf("report does not name the entry:\n%s", out)
		}
	})

	t.Run("altered and rehashed", func(t *testing.T) {
		p := copyFile(t, path)
		var next string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			r := byAuditSeq(t, evs, 4)
			r.payload()["user"] = "somebody-else"
			// whoever edits can also recompute this entry's own hash
			raw, _ := jsonRoundTrip(r.m)
			pl, err := decodePayload(raw.Payload)
			if err != nil {
				t.Fatal(err)
			}
			r.payload()["hash"] = ChainHash(raw.Origin, raw.Time, pl)
			put(t, b, r.pos, r.m)
			next = byAuditSeq(t, evs, 5).id()
		})
		ok, _, ps := verifyFile(t, p)
		if ok {
			t.Fatal("rehashed entry not detected")
		}
		expectOne(t, ps, ProblemForged, next, 5, "does not match audit seq 4")
	})

	t.Run("removed", func(t *testing.T) {
		p := copyFile(t, path)
		var next string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			r := byAuditSeq(t, evs, 5)
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], r.pos)
			if err := b.Delete(k[:]); err != nil {
				t.Fatal(err)
			}
			next = byAuditSeq(t, evs, 6).id()
		})
		ok, out, ps := verifyFile(t, p)
		if ok {
			t.Fatal("removed entry not detected")
		}
		expectOne(t, ps, ProblemRemoved, next, 6, "audit seq 5 is missing")
		if !strings.Contains(out, "removed: event "+next) {
			t.Fatalf("report:\n%s", out)
		}
	})

	t.Run("removed first", func(t *testing.T) {
		p := copyFile(t, path)
		var next string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			for _, s := range []uint64{1, 2} {
				var k [8]byte
				binary.BigEndian.PutUint64(k[:], byAuditSeq(t, evs, s).pos)
				_ = b.Delete(k[:])
			}
			next = byAuditSeq(t, evs, 3).id()
		})
		_, _, ps := verifyFile(t, p)
		expectOne(t, ps, ProblemRemoved, next, 3, "entries 1..2 are missing")
	})

	t.Run("reordered", func(t *testing.T) {
		p := copyFile(t, path)
		var moved string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			a, c := byAuditSeq(t, evs, 3), byAuditSeq(t, evs, 4)
			put(t, b, a.pos, c.m)
			put(t, b, c.pos, a.m)
			moved = a.id()
		})
		ok, out, ps := verifyFile(t, p)
		if ok {
			t.Fatal("swapped entries not detected")
		}
		expectOne(t, ps, ProblemReordered, moved, 3, "stored after audit seq 4")
		if !strings.Contains(out, "reordered: event "+moved) {
			t.Fatalf("report:\n%s", out)
		}
	})

	t.Run("duplicated", func(t *testing.T) {
		p := copyFile(t, path)
		var first string
		var dupID string
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			r := byAuditSeq(t, evs, 2)
			first = r.id()
			last := evs[len(evs)-1]
			r.m["seq"] = float64(100)
			dupID = "site-1/100"
			put(t, b, last.pos+1, r.m)
		})
		_, _, ps := verifyFile(t, p)
		expectOne(t, ps, ProblemForged, dupID, 2, "appears a second time (first as event "+first+")")
	})

	t.Run("unreadable", func(t *testing.T) {
		p := copyFile(t, path)
		var pos uint64
		editDB(t, p, func(b *bolt.Bucket, evs []rawEvent) {
			pos = byAuditSeq(t, evs, 7).pos
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], pos)
			_ = b.Put(k[:], []byte(`{"origin":"site-1","kind":"audit","payload":`))
		})
		ok, out, ps := verifyFile(t, p)
		if ok || len(ps) < 2 {
			t.Fatalf("garbled entry: ok=%v %v", ok, ps)
		}
		if ps[0].Kind != ProblemMalformed || ps[0].Pos != pos || !strings.Contains(out, "not valid JSON") {
			t.Fatalf("problems %v\n%s", ps, out)
		}
		// and the chain itself notices the hole
		if ps[1].Kind != ProblemRemoved || ps[1].AuditSeq != 8 {
			t.Fatalf("problems %v", ps)
		}
	})
}

func TestChainSurvivesRestart(t *testing.T) {
	path := writeChain(t, 5)
	l := openLog(t, path, "site-1")
	rec, err := New(l, Options{Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	seq, head := rec.Head()
	if seq != 5 || len(head) != 64 {
		t.Fatalf("head after restart: %d %q", seq, head)
	}
	for i := 0; i < 3; i++ {
		if _, err := l.Append(event.New(event.KindSegmentClosed, "Camera1", event.SeverityInfo, nil)); err != nil {
			t.Fatal(err)
		}
		ev, err := rec.Record(Entry{User: "alice", Role: "admin", Action: ActionUserChange, Object: "user bob", Source: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := decodePayload(ev.Payload)
		if p.Seq != uint64(6+i) || (i == 0 && p.Prev != head) {
			t.Fatalf("entry after restart: %+v", p)
		}
	}
	_ = l.Close()
	ok, out, ps := verifyFile(t, path)
	if !ok || len(ps) != 0 || !strings.Contains(out, "8 entries, seq 1..8") {
		t.Fatalf("after restart: %v\n%s", ps, out)
	}
}

func TestVerifyPerOrigin(t *testing.T) {
	dir := t.TempDir()
	site := openLog(t, filepath.Join(dir, "site.db"), "site-1")
	defer site.Close()
	centre := openLog(t, filepath.Join(dir, "centre.db"), "centre")
	defer centre.Close()
	srec, err := New(site, Options{})
	if err != nil {
		t.Fatal(err)
	}
	crec, err := New(centre, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := srec.Record(Entry{User: "olga", Action: ActionAckAlarm, Object: fmt.Sprint("alarm ", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := crec.Record(Entry{User: "alice", Action: ActionPlayArchive, Object: fmt.Sprint("site-1 Camera1 ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// the site's events reach the centre the way federation delivers them
	evs, err := site.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centre.Ingest(evs, "site-1"); err != nil {
		t.Fatal(err)
	}
	all, err := centre.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(all)
	if !rep.OK || len(rep.Chains) != 2 || rep.Chains[0].Origin != "centre" || rep.Chains[1].Origin != "site-1" || rep.Chains[1].Last != 4 {
		t.Fatalf("report %+v", rep)
	}
	// a change to the site's chain is pinned on the site alone
	for i := range all {
		if all[i].Origin == "site-1" && strings.Contains(string(all[i].Payload), `"seq":2`) {
			all[i].Payload = bytes.Replace(all[i].Payload, []byte("alarm 1"), []byte("alarm 9"), 1)
		}
	}
	rep = Check(all)
	if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Origin != "site-1" || rep.Problems[0].AuditSeq != 2 || !rep.Chains[0].OK || rep.Chains[1].OK {
		t.Fatalf("report %+v", rep)
	}
}

func TestConcurrentRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := openLog(t, path, "site-1")
	rec, err := New(l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				if _, err := rec.Record(Entry{User: fmt.Sprint("user", g), Action: ActionViewLive, Object: "Camera1"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = l.Close()
	if seq, _ := rec.Head(); seq != 120 {
		t.Fatalf("head %d, want 120", seq)
	}
	if ok, out, ps := verifyFile(t, path); !ok {
		t.Fatalf("%v\n%s", ps, out)
	}
}

func TestRecordInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := openLog(t, path, "site-1")
	rec, err := New(l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Record(Entry{User: "olga"}); err == nil || !strings.Contains(err.Error(), "action is required") {
		t.Fatalf("no action: %v", err)
	}
	if _, err := rec.Record(Entry{Action: ActionLogin}); err == nil || !strings.Contains(err.Error(), "user is required") {
		t.Fatalf("no user: %v", err)
	}
	ev, err := rec.Record(Entry{User: "ol\xffga", Action: ActionCorrectPlate, Object: "plate 01KZ123ABC → 01KZ128ABC",
		Detail: strings.Repeat("é", 6000), Source: "<script>"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := decodePayload(ev.Payload)
	if p.User != "ol\uFFFDga" || len(p.Detail) > maxDetail || !strings.HasSuffix(p.Detail, "…") || p.Source != "<script>" {
		t.Fatalf("stored %+v", p)
	}
	_ = l.Close()
	if ok, out, ps := verifyFile(t, path); !ok {
		t.Fatalf("%v\n%s", ps, out)
	}
}

func TestVerifyFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := VerifyFile(filepath.Join(dir, "missing.db"), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Fatalf("missing file: %v", err)
	}
	// a running node holds the lock; the verifier says so instead of waiting forever
	path := filepath.Join(dir, "events.db")
	l := openLog(t, path, "site-1")
	if _, err := VerifyFile(path, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "stop the node or verify a copy") {
		t.Fatalf("locked file: %v", err)
	}
	_ = l.Close()
	// an empty log verifies
	var out bytes.Buffer
	if ok, err := VerifyFile(path, &out); !ok || err != nil {
		t.Fatalf("empty log: %v %v\n%s", ok, err, out.String())
	}
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, err := VerifyFile(other, &out); err == nil || !strings.Contains(err.Error(), "not a Kuzet event log") {
		t.Fatalf("foreign bbolt file: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"seq":1,"user":"a","action":"login","prev":"","hash":"`+strings.Repeat("0", 64)+`"}`), uint8(1))
	f.Add([]byte(`{"seq":2}`), uint8(2))
	f.Add([]byte(`null`), uint8(0))
	f.Add([]byte(`{"seq":1,"user":"a","action":"x","prev":"","hash":"zz"} {}`), uint8(3))
	f.Fuzz(func(t *testing.T, payload []byte, where uint8) {
		var l, good []event.Event
		prev := ""
		clk := newClock()
		for i := 1; i <= 3; i++ {
			p := Payload{Seq: uint64(i), User: "u", Action: "a", Prev: prev}
			at := clk.Now()
			p.Hash = ChainHash("o", at, p)
			e := event.New(Kind, "", "", p)
			e.Origin, e.Seq, e.Time = "o", uint64(i), at
			prev = p.Hash
			good = append(good, e)
		}
		if !Check(good).OK {
			t.Fatal("good chain refused")
		}
		bad := event.Event{Origin: "o", Seq: 9, Kind: Kind, Payload: payload}
		i := int(where) % (len(good) + 1)
		l = append(l, good[:i]...)
		l = append(l, bad)
		l = append(l, good[i:]...)
		rep := Check(l)
		for _, p := range rep.Problems {
			if p.Kind == "" || p.Detail == "" || p.Origin != "o" {
				t.Fatalf("problem without a kind, detail or origin: %+v", p)
			}
		}
		// one foreign entry can never make a chain look longer than it is
		if len(rep.Chains) == 1 && rep.Chains[0].Entries > 4 {
			t.Fatalf("chain %+v", rep.Chains[0])
		}
	})
}
