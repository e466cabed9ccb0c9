package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/archive/objstore/s3test"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// contract is what every store must do.
func contract(t *testing.T, s objstore.Store, big int) {
	ctx := context.Background()
	seg := random(t, 300_000)
	key := "site-1/Camera1/2026/12/05/10/Camera1_2026_12_05_10_00_00.mp4"
	if err := s.Put(ctx, key, bytes.NewReader(seg), int64(len(seg)), sum(seg)); err != nil {
		t.Fatal(err)
	}
	in, err := s.Stat(ctx, key)
	if err != nil || in.Size != int64(len(seg)) || in.SHA256 != sum(seg) || in.Key != key || in.Meta != nil {
		t.Fatalf("stat = %+v %v", in, err)
	}
	// a range, without the rest
	r, err := s.Open(ctx, key, 1000, 5000)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, seg[1000:6000]) {
		t.Fatalf("range read %d bytes, not the stored ones", len(got))
	}
	r, err = s.Open(ctx, key, 299_000, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, seg[299_000:]) {
		t.Fatalf("tail read %d bytes", len(got))
	}
	// what does not hash to its sum is not stored
	bad := "site-1/Camera1/2026/12/05/10/bad.mp4"
	if err := s.Put(ctx, bad, bytes.NewReader(seg), int64(len(seg)), sum(seg[1:])); !errors.Is(err, objstore.ErrChecksum) {
		t.Fatalf("a wrong sum: %v", err)
	}
	if _, err := s.Stat(ctx, bad); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("the refused object is there: %v", err)
	}
	if big > 0 {
		// large enough for a multipart upload: stored whole, or not at all
		blob := random(t, big)
		if err := s.Put(ctx, "site-1/Camera1/big.mp4", bytes.NewReader(blob), int64(len(blob)), sum(blob[:len(blob)-1])); !errors.Is(err, objstore.ErrChecksum) {
			t.Fatalf("a wrong sum on a large object: %v", err)
		}
		if _, err := s.Stat(ctx, "site-1/Camera1/big.mp4"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("a refused large object is there: %v", err)
		}
		if err := s.Put(ctx, "site-1/Camera1/big.mp4", bytes.NewReader(blob), int64(len(blob)), sum(blob)); err != nil {
			t.Fatal(err)
		}
		if in, err := s.Stat(ctx, "site-1/Camera1/big.mp4"); err != nil || in.SHA256 != sum(blob) || in.Size != int64(len(blob)) {
			t.Fatalf("large object: %+v %v", in, err)
		}
	}
	for _, k := range []string{"", "/abs", "a/../b", "a//b", "a/./b", "a\\b", "a/b/", "a\x00b"} {
		if err := s.Put(ctx, k, strings.NewReader("x"), 1, ""); err == nil {
			t.Errorf("key %q was taken", k)
		}
	}
	if err := s.Put(ctx, "site-2/Camera1/x.mp4", strings.NewReader("xyz"), 3, ""); err != nil {
		t.Fatal(err)
	}
	var listed []objstore.Info
	if err := s.List(ctx, "site-1/", func(in objstore.Info) error { listed = append(listed, in); return nil }); err != nil {
		t.Fatal(err)
	}
	want := 1
	if big > 0 {
		want = 2
	}
	if len(listed) != want {
		t.Fatalf("listed %+v", listed)
	}
	for _, in := range listed {
		if in.Key == key && in.SHA256 != sum(seg) {
			t.Fatalf("listing lost the sum: %+v", in)
		}
	}
	if _, err := s.Open(ctx, "site-1/none.mp4", 0, -1); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("open of a missing key: %v", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
}

func TestFS(t *testing.T) {
	s, err := objstore.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	contract(t, s, 1<<20)
}

// The same contract against a real SeaweedFS, under a prefix; then the
// faults an operator meets: wrong credentials, a missing bucket, a store
// that is down or hangs — each a clear error naming the store — and the
// same client working again when the store is back.
func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "archive")
	ctx := context.Background()
	o := objstore.S3Options{Endpoint: srv.Endpoint, Bucket: "archive", Prefix: "region-a", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Timeout: 30 * time.Second}
	s, err := objstore.NewS3(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, s, 20<<20)
	t.Run("resume", func(t *testing.T) { s3Resume(t, o) })

	wrong := o
	wrong.SecretKey = "not-it"
	if _, err := objstore.NewS3(ctx, wrong); err == nil || !strings.Contains(err.Error(), "wrong access key") || !strings.Contains(err.Error(), srv.Endpoint) {
		t.Fatalf("wrong secret: %v", err)
	}
	missing := o
	missing.Bucket = "nobucket"
	if _, err := objstore.NewS3(ctx, missing); err == nil || !strings.Contains(err.Error(), `"nobucket" does not exist`) {
		t.Fatalf("missing bucket: %v", err)
	}

	// hung: the endpoint takes the connection and answers nothing
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	hung, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = s.Check(hung)
	cancel()
	_ = srv.Resume()
	if err == nil || time.Since(start) > 15*time.Second || !strings.Contains(err.Error(), "s3 http://"+srv.Endpoint+"/archive/region-a") {
		t.Fatalf("a hung store: %v after %v", err, time.Since(start))
	}
	// down, then back: the same client carries on
	srv.Stop()
	if err := s.Put(ctx, "site-1/Camera1/down.mp4", strings.NewReader("abc"), 3, ""); err == nil || !strings.Contains(err.Error(), srv.Endpoint) {
		t.Fatalf("a store that is down: %v", err)
	}
	srv.Restart(t)
	// a restarted SeaweedFS takes a while to take writes again (its
	// master waits for the volume server): the same client, retried, gets
	// through once it does
	deadline := time.Now().Add(2 * time.Minute)
	for {
		try, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.Put(try, "site-1/Camera1/back.mp4", strings.NewReader("abc"), 3, sum([]byte("abc")))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the store came back: %v", err)
		}
		time.Sleep(time.Second)
	}
	if in, err := s.Stat(ctx, "site-2/Camera1/x.mp4"); err != nil || in.Size != 3 {
		t.Fatalf("what was stored before the restart: %+v %v", in, err)
	}
}
