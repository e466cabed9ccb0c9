package archive

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

const self = "region-1" // the node the test archive belongs to

// replicaOf is a segment of origin's, as a child announces it, with its
// bytes.
func replicaOf(camera string, start time.Time, size int) (Segment, []byte) {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	return Segment{Camera: camera, Start: start, End: start.Add(time.Minute), Codec: "h264",
		Path:  SegmentPath(camera, start, time.UTC, 0),
		Bytes: int64(size), SHA256: hex.EncodeToString(sum[:])}, b
}

// importBytes assembles b in s's part file the way a fetch does and
// imports it.
func importBytes(t *testing.T, a *Archive, origin string, s Segment, b []byte) error {
	t.Helper()
	part, err := a.PartPath(origin, s.Path)
	if err != nil {
		return err
	}
	if err := a.MkdirFor(part); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return a.ImportReplica(origin, s, part)
}

func mustImport(t *testing.T, a *Archive, origin string, s Segment, b []byte) {
	t.Helper()
	if err := importBytes(t, a, origin, s, b); err != nil {
		t.Fatalf("import %s of %s: %v", s.Path, origin, err)
	}
}

func shaOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func noFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (%v)", p, err)
	}
}

// Issue 12: an origin named like one of this node's own cameras, even one
// announcing exactly the path of an own recording, lands in its own
// namespace and leaves the recording and its index record alone.
func TestReplicaOfOriginNamedLikeOwnCamera(t *testing.T) {
	a, _ := openTestArchive(t, Options{Segment: 10 * time.Second})
	t0 := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	record(t, a, "site-a", t0, 4*time.Second)
	own, _ := a.Index().Segments("site-a", time.Time{}, time.Time{})
	if len(own) != 1 {
		t.Fatalf("own segments %+v", own)
	}
	ownAbs := a.Abs(own[0].Path)
	ownSum := fileSHA(t, ownAbs)

	// origin "site-a" announcing the own file's path in its layout
	// ("site-a/2025/...") and the path below the camera folder ("2025/...")
	forged1, b1 := replicaOf("site-a", t0, 55)
	forged1.Path = own[0].Path
	forged2, b2 := replicaOf("2025", t0, 55)
	forged2.Path = strings.TrimPrefix(own[0].Path, "site-a/")
	for _, f := range []struct {
		s Segment
		b []byte
	}{{forged1, b1}, {forged2, b2}} {
		mustImport(t, a, "site-a", f.s, f.b)
		got, err := a.File(self, "site-a", f.s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Abs(ReplicaDir + "/site-a/" + f.s.Path); got != want {
			t.Fatalf("replica at %s, want %s", got, want)
		}
		if fileSHA(t, got) != shaOf(f.b) {
			t.Fatal("replica bytes differ")
		}
	}
	if got := fileSHA(t, ownAbs); got != ownSum {
		t.Fatalf("own recording changed: sha256 %s, was %s", got, ownSum)
	}
	after, _ := a.Index().Segments("site-a", time.Time{}, time.Time{})
	if len(after) != 1 || after[0] != own[0] {
		t.Fatalf("own index records changed: %+v", after)
	}
	if p, err := a.File(self, self, own[0].Path); err != nil || p != ownAbs {
		t.Fatalf("own segment resolved to %s, %v", p, err)
	}
	// a replica path is never this node's own
	if _, err := a.File(self, self, ReplicaPath("site-a", forged1.Path)); err == nil {
		t.Fatal("a replica served as an own segment")
	}
	r, err := Verify(a.Root(), a.Index(), false, nil)
	if err != nil || len(r.Problems) != 0 || r.Segments != 3 {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

// Issue 12: a second import at an existing replica's path with other
// bytes is refused, leaves the original intact and removes the part; the
// index refuses another segment at a held path or start even when the
// file is gone.
func TestImportReplicaNeverOverwrites(t *testing.T) {
	a, ev := openTestArchive(t, Options{})
	t0 := time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC)
	s, b := replicaOf("Camera1", t0, 9<<10)
	mustImport(t, a, "site-b", s, b)
	final, err := a.File(self, "site-b", s.Path)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := a.PartPath("site-b", s.Path)

	forged, fb := replicaOf("Camera1", t0.Add(time.Second), 55)
	forged.Path = s.Path
	err = importBytes(t, a, "site-b", forged, fb)
	if !errors.Is(err, ErrReplicaConflict) || !errors.Is(err, event.ErrReplicaRefused) || !strings.Contains(err.Error(), ReplicaPath("site-b", s.Path)) {
		t.Fatalf("forged import: %v", err)
	}
	if got := fileSHA(t, final); got != s.SHA256 {
		t.Fatalf("replica overwritten: sha256 %s", got)
	}
	noFile(t, part)

	// same size, other bytes, the index record's own start: still refused
	same, sb := replicaOf("Camera1", t0, 9<<10)
	err = importBytes(t, a, "site-b", same, sb)
	if !errors.Is(err, ErrReplicaConflict) {
		t.Fatalf("same-size import: %v", err)
	}
	if got := fileSHA(t, final); got != s.SHA256 {
		t.Fatalf("replica overwritten: sha256 %s", got)
	}

	// the file lost, the index still holds the segment: other bytes are
	// refused by the index, the right ones restore it
	if err := os.Remove(final); err != nil {
		t.Fatal(err)
	}
	err = importBytes(t, a, "site-b", forged, fb)
	if !errors.Is(err, ErrReplicaConflict) || !strings.Contains(err.Error(), "index holds another segment") {
		t.Fatalf("import over an indexed path: %v", err)
	}
	noFile(t, final)
	mustImport(t, a, "site-b", s, b)
	if got := fileSHA(t, final); got != s.SHA256 {
		t.Fatalf("restored replica sha256 %s", got)
	}

	// another path at a held start would replace the index record
	other, ob := replicaOf("Camera1", t0, 100)
	other.Path = SegmentPath("Camera1", t0, time.UTC, 1)
	if err := importBytes(t, a, "site-b", other, ob); !errors.Is(err, ErrReplicaConflict) {
		t.Fatalf("import at a held start: %v", err)
	}
	noFile(t, a.Abs(ReplicaPath("site-b", other.Path)))

	segs, _ := a.Index().Segments(event.ReplicaCamera("site-b", "Camera1"), time.Time{}, time.Time{})
	if len(segs) != 1 || segs[0].SHA256 != s.SHA256 || segs[0].Path != ReplicaPath("site-b", s.Path) {
		t.Fatalf("index %+v", segs)
	}
	if n := len(eventsOf(t, ev, event.KindReplicaStored)); n != 1 {
		t.Fatalf("%d replica.stored events, want 1", n)
	}
}

// Importing the same bytes twice succeeds twice, drops the second part and
// indexes once; a file moved into place before a crash stopped the index
// write is indexed by the next import.
func TestImportReplicaIdempotent(t *testing.T) {
	a, ev := openTestArchive(t, Options{})
	t0 := time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC)
	s, b := replicaOf("Camera1", t0, 4096)
	mustImport(t, a, "site-b", s, b)
	mustImport(t, a, "site-b", s, b)
	part, _ := a.PartPath("site-b", s.Path)
	noFile(t, part)
	key := event.ReplicaCamera("site-b", "Camera1")
	if segs, _ := a.Index().Segments(key, time.Time{}, time.Time{}); len(segs) != 1 {
		t.Fatalf("index %+v", segs)
	}
	if n := len(eventsOf(t, ev, event.KindReplicaStored)); n != 1 {
		t.Fatalf("%d replica.stored events, want 1", n)
	}

	// crash between the move and the index write
	s2, b2 := replicaOf("Camera1", t0.Add(time.Minute), 4096)
	final := a.Abs(ReplicaPath("site-b", s2.Path))
	if err := a.MkdirFor(final); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(final, b2, 0o644); err != nil {
		t.Fatal(err)
	}
	mustImport(t, a, "site-b", s2, b2)
	if segs, _ := a.Index().Segments(key, time.Time{}, time.Time{}); len(segs) != 2 || segs[1].Path != ReplicaPath("site-b", s2.Path) {
		t.Fatalf("index %+v", segs)
	}
	if fileSHA(t, final) != s2.SHA256 {
		t.Fatal("replica changed")
	}
}

func TestReplicaPathsRefused(t *testing.T) {
	a, _ := openTestArchive(t, Options{})
	good := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	for _, origin := range []string{"", ".", "..", ".replicas", "a/b", "/abs", "a\\b", "-x", "site a"} {
		if p, err := a.PartPath(origin, good); err == nil {
			t.Errorf("origin %q: part %s", origin, p)
		}
		if p, err := a.File(self, origin, good); err == nil {
			t.Errorf("origin %q: file %s", origin, p)
		}
	}
	for _, rel := range []string{"", "../x.mp4", "Camera1/../../x.mp4", "/etc/x.mp4", "Camera1/./x.mp4",
		"./Camera1/x.mp4", ".replicas/site-b/Camera1/x.mp4", "..foo/x.mp4", "Camera1\\x.mp4", "x.mp4",
		"Camera1/x.mp4.part", "Camera1/x", "Camera1//x.mp4"} {
		if p, err := a.PartPath("site-b", rel); err == nil {
			t.Errorf("path %q: part %s", rel, p)
		}
		if p, err := a.File(self, "site-b", rel); err == nil {
			t.Errorf("path %q: file %s", rel, p)
		}
		s := Segment{Camera: "Camera1", Start: time.Unix(1, 0), Path: rel, Bytes: 1, SHA256: shaOf([]byte{1})}
		if err := a.ImportReplica("site-b", s, a.Abs(rel)+".part"); err == nil {
			t.Errorf("path %q imported", rel)
		}
	}
	s, b := replicaOf("Camera1", time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC), 10)
	part, _ := a.PartPath("site-b", s.Path)
	_ = a.MkdirFor(part)
	_ = os.WriteFile(part, b, 0o644)
	// a part file not the segment's, a camera not the path's
	if err := a.ImportReplica("site-c", s, part); err == nil {
		t.Error("another origin's part imported")
	}
	wrong := s
	wrong.Camera = "Camera2"
	if err := a.ImportReplica("site-b", s, part+"x"); !errors.Is(err, event.ErrReplicaRefused) {
		t.Errorf("a foreign part path: %v", err)
	}
	if err := a.ImportReplica("site-b", wrong, part); !errors.Is(err, event.ErrReplicaRefused) {
		t.Errorf("a segment filed under another camera: %v", err)
	}
	noFile(t, part)
	if _, err := a.PartPath("..", good); !errors.Is(err, event.ErrReplicaRefused) {
		t.Errorf("PartPath of origin ..: %v", err)
	}
	cams, _ := a.Index().Cameras()
	if len(cams) != 0 {
		t.Fatalf("indexed: %v", cams)
	}
	if rel, ok := ReplicaRel("site-b", ReplicaPath("site-b", good)); !ok || rel != good {
		t.Fatalf("ReplicaRel = %q, %v", rel, ok)
	}
	for _, bad := range []string{"site-b/" + good, ReplicaPath("site-c", good), ReplicaPath("site-b", "../x.mp4")} {
		if rel, ok := ReplicaRel("site-b", bad); ok {
			t.Errorf("ReplicaRel(%q) = %q", bad, rel)
		}
	}
}

// Retention of a replica removes its file and empty folders up to its
// camera's folder in the replica namespace, and nothing of own cameras.
func TestRetentionOfReplicas(t *testing.T) {
	clk := &clock{}
	a, _ := openTestArchive(t, Options{Now: clk.Now, Retention: func(string) time.Duration { return 24 * time.Hour }})
	t0 := time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC)
	s, b := replicaOf("Camera1", t0, 100)
	mustImport(t, a, "Camera1", s, b) // an origin named like a camera
	clk.Set(t0.Add(48 * time.Hour))
	a.Sweep()
	noFile(t, a.Abs(ReplicaPath("Camera1", s.Path)))
	if segs, _ := a.Index().Segments(event.ReplicaCamera("Camera1", "Camera1"), time.Time{}, time.Time{}); len(segs) != 0 {
		t.Fatalf("index %+v", segs)
	}
	noFile(t, a.Abs(ReplicaPath("Camera1", "Camera1/2025")))
	if st, err := os.Stat(a.Abs(ReplicaPath("Camera1", "Camera1"))); err != nil || !st.IsDir() {
		t.Fatalf("camera folder: %v", err)
	}
}

// oldLayout builds an archive the way the first layout left it: replicas
// at ORIGIN/Camera1/... indexed with those paths, no layout version.
type oldLayout struct {
	o                Options
	own              Segment // own camera "site-a"
	ownSum           string
	reps             []Segment // site-b/Camera1, indexed at site-b/...
	forgedOverOwn    Segment   // origin site-a's record naming the own file
	partOld, partNew string
	partBytes        []byte
}

func makeOldLayout(t *testing.T) *oldLayout {
	t.Helper()
	dir := t.TempDir()
	fx := &oldLayout{o: Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db"),
		Location: time.UTC, Segment: 10 * time.Second}}
	a, _ := openTestArchive(t, fx.o)
	t0 := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	record(t, a, "site-a", t0, 4*time.Second)
	own, _ := a.Index().Segments("site-a", time.Time{}, time.Time{})
	fx.own, fx.ownSum = own[0], fileSHA(t, a.Abs(own[0].Path))
	for i := range 4 {
		s, b := replicaOf("Camera1", t0.Add(time.Duration(i)*time.Minute), 1000+i)
		s.Camera, s.Path = "site-b/Camera1", "site-b/"+s.Path
		writeFile(t, a.Abs(s.Path), b)
		if err := a.index.closeSegment(s); err != nil {
			t.Fatal(err)
		}
		fx.reps = append(fx.reps, s)
	}
	// the attack of issue 12 as the first layout stored it: origin site-a
	// (named like the own camera) wrote over the own recording
	fx.forgedOverOwn = Segment{Camera: "site-a/2025", Start: t0, End: t0.Add(time.Minute), Path: own[0].Path,
		Bytes: own[0].Bytes, SHA256: own[0].SHA256}
	if err := a.index.closeSegment(fx.forgedOverOwn); err != nil {
		t.Fatal(err)
	}
	// an unfinished fetch
	rel := SegmentPath("Camera1", t0.Add(time.Hour), time.UTC, 0)
	fx.partOld = a.Abs("site-b/"+rel) + ".part"
	fx.partNew, _ = a.PartPath("site-b", rel)
	fx.partBytes = []byte("half a file")
	writeFile(t, fx.partOld, fx.partBytes)
	if err := a.index.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyLayout) }); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(a.Root(), a.Index(), true, nil)
	if err != nil || len(r.Problems) != 5 || r.Problems[0].What != "layout" {
		t.Fatalf("verify of the old layout: %+v %v", r, err)
	}
	a.Close()
	return fx
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkMigrated opens fx's archive and checks every replica is in the new
// namespace, indexed there, byte for byte, and the own recording intact.
func (fx *oldLayout) checkMigrated(t *testing.T) {
	t.Helper()
	a, err := Open(fx.o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	segs, _ := a.Index().Segments("site-b/Camera1", time.Time{}, time.Time{})
	if len(segs) != len(fx.reps) {
		t.Fatalf("replicas indexed: %+v", segs)
	}
	for i, s := range segs {
		rel := strings.TrimPrefix(fx.reps[i].Path, "site-b/")
		if s.Path != ReplicaPath("site-b", rel) {
			t.Errorf("replica %d indexed at %s", i, s.Path)
		}
		p, err := a.File(self, "site-b", rel)
		if err != nil || fileSHA(t, p) != s.SHA256 {
			t.Errorf("replica %d: %s %v", i, p, err)
		}
		noFile(t, a.Abs(fx.reps[i].Path))
	}
	noFile(t, a.Abs("site-b"))
	if got := fileSHA(t, a.Abs(fx.own.Path)); got != fx.ownSum {
		t.Fatalf("own recording changed")
	}
	if own, _ := a.Index().Segments("site-a", time.Time{}, time.Time{}); len(own) != 1 || own[0] != fx.own {
		t.Fatalf("own records %+v", own)
	}
	if f, _ := a.Index().Segments("site-a/2025", time.Time{}, time.Time{}); len(f) != 0 {
		t.Fatalf("record naming the own file kept: %+v", f)
	}
	noFile(t, fx.partOld)
	if b, err := os.ReadFile(fx.partNew); err != nil || string(b) != string(fx.partBytes) {
		t.Fatalf("part file not moved: %q %v", b, err)
	}
	if v, _ := a.index.layout(); v != layoutReplicaDir {
		t.Fatalf("layout %q", v)
	}
	r, err := Verify(a.Root(), a.Index(), false, nil)
	if err != nil || len(r.Problems) != 0 || r.Segments != 1+len(fx.reps) {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

func TestMigrateOldLayout(t *testing.T) {
	fx := makeOldLayout(t)
	fx.checkMigrated(t)
	fx.checkMigrated(t) // again: nothing left to do, nothing changes
}

// A crash in the middle of a migration: one file renamed but the index
// not told, one linked at both places (link+unlink cut short); the next
// Open finishes it.
func TestMigrateAfterCrash(t *testing.T) {
	fx := makeOldLayout(t)
	root := fx.o.Root
	abs := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	moved := fx.reps[0]
	newAt := abs(ReplicaPath("site-b", strings.TrimPrefix(moved.Path, "site-b/")))
	_ = os.MkdirAll(filepath.Dir(newAt), 0o755)
	if err := os.Rename(abs(moved.Path), newAt); err != nil {
		t.Fatal(err)
	}
	linked := fx.reps[1]
	if err := os.Link(abs(linked.Path), abs(ReplicaPath("site-b", strings.TrimPrefix(linked.Path, "site-b/")))); err != nil {
		t.Fatal(err)
	}
	fx.checkMigrated(t)
}

// Verify reports a replica record outside its camera's replica folder.
func TestVerifyReplicaLayout(t *testing.T) {
	a, _ := openTestArchive(t, Options{})
	s, b := replicaOf("Camera1", time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC), 10)
	mustImport(t, a, "site-b", s, b)
	wrong := Segment{Camera: "site-c/Camera1", Start: s.Start, End: s.End, Path: ReplicaPath("site-b", s.Path),
		Bytes: s.Bytes, SHA256: s.SHA256}
	if err := a.index.closeSegment(wrong); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(a.Root(), a.Index(), false, nil)
	if err != nil || len(r.Problems) != 1 || r.Problems[0].What != "layout" || r.Problems[0].Segment.Camera != "site-c/Camera1" {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

// A part file left by a crash stays out of the index across a restart and
// is there for the fetch to resume; importing it then works.
func TestPartLeftByCrash(t *testing.T) {
	dir := t.TempDir()
	o := Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db"), Location: time.UTC}
	a, _ := openTestArchive(t, o)
	s, b := replicaOf("Camera1", time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC), 2048)
	part, _ := a.PartPath("site-b", s.Path)
	_ = a.MkdirFor(part)
	if err := os.WriteFile(part, b[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a2, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if cams, _ := a2.Index().Cameras(); len(cams) != 0 {
		t.Fatalf("indexed after restart: %v", cams)
	}
	if _, err := a2.File(self, "site-b", s.Path); err == nil {
		t.Fatal("a part file served as the replica")
	}
	got, err := os.ReadFile(part)
	if err != nil || len(got) != 1000 {
		t.Fatalf("part after restart: %d bytes, %v", len(got), err)
	}
	// the fetch resumes and completes the part
	f, _ := os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.Write(b[1000:])
	_ = f.Close()
	if err := a2.ImportReplica("site-b", s, part); err != nil {
		t.Fatal(err)
	}
	noFile(t, part)
	if p, err := a2.File(self, "site-b", s.Path); err != nil || fileSHA(t, p) != s.SHA256 {
		t.Fatalf("replica %s, %v", p, err)
	}
}
