package sftppush

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
)

// BenchmarkPush measures one segment upload to OpenSSH's sftp server on
// loopback: .part, size check, fsync, rename. MB/s is the push throughput
// without a rate cap; on a real uplink the link is the limit.
func BenchmarkPush(b *testing.B) {
	n := newNode(b)
	keyFile, authorized := clientKey(b, n.dir)
	d := startSSHD(b, authorized)
	n.record(b, "Camera1", t0, 8*time.Second)
	segs := n.segments(b)
	// a 5-minute segment at 1 Mbit/s is about 40 MB; the bytes do not
	// matter to the transfer, so the large case is random data
	big := archive.Segment{Camera: "Camera1", Path: "Camera1/2025/08/18/15/Camera1_2025_08_18_15_00.mp4", Bytes: 40 << 20}
	buf := make([]byte, big.Bytes)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(n.arch.Abs(big.Path)), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(n.arch.Abs(big.Path), buf, 0o644); err != nil {
		b.Fatal(err)
	}
	var logs logBuffer
	remoteRoot := filepath.Join(b.TempDir(), "push")
	o := pushOptions(n, d, keyFile, remoteRoot, &logs)
	o.MaxBytesPerSecond = 0
	p, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	conn, err := p.dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.close()
	for _, tc := range []struct {
		name string
		seg  archive.Segment
	}{{"segment_1MB", segs[0]}, {"file_40MB", big}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(tc.seg.Bytes)
			for b.Loop() {
				if err := p.upload(ctx, conn, item{Seg: tc.seg}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.Remove(filepath.Join(remoteRoot, filepath.FromSlash(tc.seg.Path))); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
