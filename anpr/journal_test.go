package anpr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/camevents"
)

const journalToken = "gate1-secret-0123456789"

// journalNode is what a node keeps across a kill: its event log and its
// journal of camera reads, in dir.
type journalNode struct {
	t   *testing.T
	dir string
	log *event.Log
	j   *Journal
}

func openJournalNode(t *testing.T, dir string) *journalNode {
	t.Helper()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(dir, "camera-reads.db"))
	if err != nil {
		t.Fatal(err)
	}
	return &journalNode{t: t, dir: dir, log: log, j: j}
}

// crash closes the stores under whatever still uses them, as a kill
// leaves the files.
func (n *journalNode) crash() {
	_ = n.j.Close()
	_ = n.log.Close()
}

func (n *journalNode) consumer() *Consumer {
	cam := config.Camera{ID: "Gate1", URL: "rtsp://127.0.0.1:1/gate1",
		ANPR: config.CameraANPR{Countries: []string{"KZ"}, Ingest: &config.CameraIngest{Format: "generic", Token: journalToken}}}
	c := NewConsumer(ConsumerOptions{
		Camera: func(id string) (config.Camera, bool) { return cam, id == cam.ID },
		Events: n.log, SnapshotDir: filepath.Join(n.dir, "plates"), Journal: n.j,
	})
	// a consumer dropped by a simulated kill still holds open passes: they
	// go nowhere (its stores are closed) before the test's files are removed
	n.t.Cleanup(c.Close)
	return c
}

func (n *journalNode) ingest(c *Consumer, body string) (plates.CameraPlateAnswer, error) {
	n.t.Helper()
	g, err := camevents.NewGate("Gate1", "rtsp://127.0.0.1:1/gate1", journalToken, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	return c.Ingest(context.Background(), map[string]camevents.Gate{"Gate1": g}, plates.CameraPlateEvent{
		Camera: "Gate1", Source: netip.MustParseAddr("127.0.0.1"), Token: journalToken,
		ContentType: "application/json", Body: strings.NewReader(body), Received: time.Now()})
}

func testJPEG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 100, 24)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (n *journalNode) plateReads() []plates.PlateRead {
	n.t.Helper()
	evs, err := n.log.Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
	if err != nil {
		n.t.Fatal(err)
	}
	var out []plates.PlateRead
	for _, e := range slices.Backward(evs) {
		var pr plates.PlateRead
		if err := json.Unmarshal(e.Payload, &pr); err != nil {
			n.t.Fatal(err)
		}
		out = append(out, pr)
	}
	return out
}

func (n *journalNode) pending() int {
	n.t.Helper()
	left, err := n.j.Pending()
	if err != nil {
		n.t.Fatal(err)
	}
	return len(left)
}

// Reads acknowledged, then the node killed before their passes ended: the
// next start makes them passes, on their original times, each read in
// exactly one plate.read, and the journal is empty.
func TestCameraPlatesJournalReplay(t *testing.T) {
	dir := t.TempDir()
	n := openJournalNode(t, dir)
	c := n.consumer()
	crop := base64.StdEncoding.EncodeToString(testJPEG(t))
	var answers []plates.CameraPlateAnswer
	for _, body := range []string{
		`{"plate": "AA1234BB", "confidence": 0.8}`,
		`{"plate": "777AAA02", "confidence": 0.9}`,
		`{"plate": "AA1234BB", "confidence": 0.9, "crop": "` + crop + `"}`,
	} {
		ans, err := n.ingest(c, body)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, ans)
		time.Sleep(20 * time.Millisecond)
	}
	if n.pending() != 3 {
		t.Fatalf("%d reads journaled, want 3", n.pending())
	}
	n.crash() // c is dropped without Close: its trackers' passes are lost

	n = openJournalNode(t, dir)
	defer n.crash()
	if got := n.plateReads(); len(got) != 0 {
		t.Fatalf("passes stored before the kill: %+v", got)
	}
	if err := n.consumer().Replay(); err != nil {
		t.Fatal(err)
	}
	got := n.plateReads()
	if len(got) != 2 {
		t.Fatalf("%d plate reads after the replay, want 2: %+v", len(got), got)
	}
	ids := map[string]int{}
	for _, pr := range got {
		for _, id := range pr.CameraReads {
			ids[id]++
		}
	}
	if len(ids) != 3 {
		t.Fatalf("camera reads in the passes: %v, want 3 distinct", ids)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("read %s in %d passes", id, k)
		}
	}
	aa, other := got[0], got[1]
	if aa.Plate != "AA1234BB" {
		aa, other = other, aa
	}
	if aa.Plate != "AA1234BB" || aa.Frames != 2 || len(aa.CameraReads) != 2 || aa.Source != plates.SourceCamera || aa.Crop == "" ||
		!aa.First.Equal(answers[0].Time) || !aa.Last.Equal(answers[2].Time) {
		t.Errorf("replayed pass %+v; times of the reads %v, %v", aa, answers[0].Time, answers[2].Time)
	}
	if other.Plate != "777AAA02" || other.Frames != 1 || len(other.CameraReads) != 1 || !other.First.Equal(answers[1].Time) {
		t.Errorf("replayed pass %+v", other)
	}
	if n.pending() != 0 {
		t.Fatalf("%d reads left in the journal after their passes were stored", n.pending())
	}
	// a further start replays nothing
	if err := n.consumer().Replay(); err != nil {
		t.Fatal(err)
	}
	if k := len(n.plateReads()); k != 2 {
		t.Fatalf("%d plate reads after a second start", k)
	}
}

// The node killed after a pass's plate.read was stored but before its
// reads left the journal: the next start releases them without a second
// pass; a read not stored yet is still replayed.
func TestCameraPlatesJournalCrashAfterStore(t *testing.T) {
	dir := t.TempDir()
	n := openJournalNode(t, dir)
	c := n.consumer()
	if _, err := n.ingest(c, `{"plate": "AA1234BB", "confidence": 0.8}`); err != nil {
		t.Fatal(err)
	}
	_ = n.j.Close() // the release after the store will not happen
	c.Close()       // the pass is stored
	stored := n.plateReads()
	if len(stored) != 1 || len(stored[0].CameraReads) != 1 {
		t.Fatalf("stored %+v", stored)
	}
	_ = n.log.Close()

	n = openJournalNode(t, dir)
	defer n.crash()
	if n.pending() != 1 {
		t.Fatalf("%d reads journaled, want the stored one", n.pending())
	}
	// a later read of another vehicle, journaled, its pass never stored
	c = n.consumer()
	ans, err := n.ingest(c, `{"plate": "777AAA02"}`)
	if err != nil {
		t.Fatal(err)
	}
	n.crash()

	n = openJournalNode(t, dir)
	if err := n.consumer().Replay(); err != nil {
		t.Fatal(err)
	}
	got := n.plateReads()
	if len(got) != 2 || got[0].Plate != "AA1234BB" || got[1].Plate != "777AAA02" || !got[1].First.Equal(ans.Time) ||
		slices.Equal(got[0].CameraReads, got[1].CameraReads) {
		t.Fatalf("plate reads %+v", got)
	}
	if n.pending() != 0 {
		t.Fatalf("%d reads left in the journal", n.pending())
	}
}

// A read the journal cannot take is refused (the camera sends it again),
// not acknowledged, and makes no pass.
func TestCameraPlatesJournalUnwritable(t *testing.T) {
	n := openJournalNode(t, t.TempDir())
	defer func() { _ = n.log.Close() }()
	c := n.consumer()
	_ = n.j.Close()
	if ans, err := n.ingest(c, `{"plate": "AA1234BB"}`); !errors.Is(err, plates.ErrCameraPlatesBusy) {
		t.Fatalf("ingest without a journal: %+v, %v", ans, err)
	}
	c.Close()
	if got := n.plateReads(); len(got) != 0 {
		t.Fatalf("a refused read made passes: %+v", got)
	}
}

// A journal entry that cannot be read (a torn or foreign record) is named
// and left where it is; the reads behind it still become passes.
func TestCameraPlatesJournalBadEntry(t *testing.T) {
	dir := t.TempDir()
	n := openJournalNode(t, dir)
	c := n.consumer()
	for _, body := range []string{`{"plate": "AA1234BB"}`, `{"plate": "777AAA02"}`} {
		if _, err := n.ingest(c, body); err != nil {
			t.Fatal(err)
		}
	}
	n.crash()
	db, err := bolt.Open(filepath.Join(dir, "camera-reads.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournalReads).Put(journalKey(0), []byte("{torn"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	n = openJournalNode(t, dir)
	defer n.crash()
	left, err := n.j.Pending()
	if err == nil || !strings.Contains(err.Error(), "0000000000000000 is unreadable") || len(left) != 2 {
		t.Fatalf("pending %d, err %v: want the two good reads and the bad one named", len(left), err)
	}
	if err := n.consumer().Replay(); err != nil {
		t.Fatal(err)
	}
	if got := n.plateReads(); len(got) != 2 {
		t.Fatalf("plate reads %+v, want both good reads", got)
	}
	if left, _ := n.j.Pending(); len(left) != 0 {
		t.Fatalf("%d readable reads left", len(left))
	}
}
