package replicate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// memSource serves files from memory and remembers the offsets asked for.
type memSource struct {
	files   map[string][]byte
	offsets []int64
}

func (m *memSource) Fetch(_ context.Context, origin, rel string, offset int64) (int64, io.ReadCloser, error) {
	m.offsets = append(m.offsets, offset)
	b := m.files[origin+"/"+rel]
	return int64(len(b)), io.NopCloser(bytes.NewReader(b[offset:])), nil
}

func (m *memSource) Index(context.Context, time.Time) ([]Listed, error) { return nil, nil }

// fileStore keeps replicas as plain files under root, assembled in part
// files beside them and checked as the archive checks them.
type fileStore struct {
	root     string
	imported []event.Segment
}

func (s *fileStore) partPath(origin, rel string) string {
	return filepath.Join(s.root, origin, rel) + ".part"
}

func (s *fileStore) OpenPart(_ context.Context, origin string, seg event.Segment) (Part, error) {
	p := s.partPath(origin, seg.Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &filePart{s: s, f: f, seg: seg}, nil
}

type filePart struct {
	s   *fileStore
	f   *os.File
	seg event.Segment
}

func (p *filePart) Offset() int64 {
	st, err := p.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

func (p *filePart) Write(b []byte) (int, error) { return p.f.Write(b) }
func (p *filePart) Close() error                { return p.f.Close() }

func (p *filePart) Import(context.Context) error {
	b, err := os.ReadFile(p.f.Name())
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != p.seg.SHA256 {
		_ = os.Remove(p.f.Name())
		return errors.New("sha256 does not match the recorded one")
	}
	p.s.imported = append(p.s.imported, p.seg)
	return os.Rename(p.f.Name(), strings.TrimSuffix(p.f.Name(), ".part"))
}

func fetchOf(data []byte) Fetch {
	sum := sha256.Sum256(data)
	return Fetch{Child: "site", Origin: "site", Camera: "Camera1", Path: "Camera1/a.mp4",
		Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// A part file left by an interrupted transfer is resumed from its end,
// and the whole file is verified before it is imported.
func TestFetchOneResumesFromThePartFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	f := fetchOf(data)
	src := &memSource{files: map[string][]byte{"site/Camera1/a.mp4": data}}
	store := &fileStore{root: t.TempDir()}
	p := &Puller{Store: store}
	part := store.partPath(f.Origin, f.Path)
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, data[:4000], 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := p.fetchOne(context.Background(), src, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data))-4000 || len(src.offsets) != 1 || src.offsets[0] != 4000 {
		t.Fatalf("%d bytes transferred from offsets %v, want %d from 4000", n, src.offsets, len(data)-4000)
	}
	got, err := os.ReadFile(strings.TrimSuffix(part, ".part"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("replica differs (%v)", err)
	}
	if len(store.imported) != 1 || store.imported[0].SHA256 != f.SHA256 || store.imported[0].Path != f.Path {
		t.Fatalf("imported %+v", store.imported)
	}
}

// A part file whose bytes do not match the checksum is removed, so the
// next attempt starts clean, and nothing is imported.
func TestFetchOneDropsACorruptPart(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefghij"), 100)
	f := fetchOf(data)
	bad := bytes.Clone(data)
	bad[10] ^= 0xff
	src := &memSource{files: map[string][]byte{"site/Camera1/a.mp4": bad}}
	store := &fileStore{root: t.TempDir()}
	p := &Puller{Store: store}
	if _, err := p.fetchOne(context.Background(), src, f, nil); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("fetch of corrupt bytes: %v", err)
	}
	part := store.partPath(f.Origin, f.Path)
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Fatalf("corrupt part kept: %v", err)
	}
	if len(store.imported) != 0 {
		t.Fatalf("imported %+v", store.imported)
	}
}
