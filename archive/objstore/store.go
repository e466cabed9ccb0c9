// Package objstore is where a parent tier keeps the segments it pulls
// from its children: the local file system (the default, and every
// site's), or S3-compatible object storage shared by the tier's replicas.
// Keys follow the archive's layout (origin/camera/YYYY/MM/DD/HH/file.mp4);
// every object carries the sha256 its segment.closed announced, checked
// when it is stored and reported by Stat and List.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Info describes one stored object.
type Info struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256,omitempty"` // as stored with it ("" when it was stored without)
	Modified time.Time `json:"modified"`
	// Meta is the object's own metadata as given to Resume (lower-case
	// keys); Stat returns it, List may not.
	Meta map[string]string `json:"meta,omitempty"`
}

// Store keeps objects by key.
type Store interface {
	// Name says where the store is, for messages and alarms (s3://bucket/prefix
	// at endpoint, or a directory).
	Name() string
	// Put stores size bytes from r under key, durably, with its sha256
	// (hex); the bytes are hashed on the way and a mismatch stores nothing.
	Put(ctx context.Context, key string, r io.Reader, size int64, sha256 string) error
	// Open reads n bytes of key from off (n < 0: to the end), without
	// fetching the rest.
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Stat describes key; ErrNotFound when it is not there.
	Stat(ctx context.Context, key string) (Info, error)
	// List calls fn for every key under prefix.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Delete removes key; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// Resume opens the upload of key: size bytes that must hash to sha256,
	// stored with meta. It carries on from what an earlier writer of the
	// same key stored — this process or another replica sharing the store —
	// or starts one. When key is stored already with that sha256 it
	// returns ErrStored. The upload's writes use ctx.
	Resume(ctx context.Context, key string, size int64, sha256 string, meta map[string]string) (Upload, error)
}

// Upload is an object being written in parts that outlive their writer.
// Only whole parts count as stored: what a writer buffered when it died
// is written again by the next.
type Upload interface {
	// Offset is how many bytes are stored; the next Write continues there.
	Offset() int64
	// Write appends, storing each part as it fills; more bytes than the
	// size given to Resume are refused. Once another writer completed the
	// object, it fails with ErrStored.
	Write(p []byte) (int, error)
	// Complete stores the rest and makes the object visible under its key
	// when the bytes hash to the sha256 given to Resume; otherwise it drops
	// the upload and returns ErrChecksum (nothing stored). It does not
	// replace an object of other bytes stored under the key meanwhile: that
	// is an error matching fs.ErrExist, and the upload is kept (to Abort,
	// or to Complete once the key is free).
	Complete(ctx context.Context) (Info, error)
	// Abort drops the upload and every part stored.
	Abort(ctx context.Context) error
	// Close releases the writer, keeping the stored parts for a Resume.
	Close() error
}

// ErrStored is what Resume returns when the object is stored already
// with the sha256 asked for.
var ErrStored = errors.New("stored already")

// ErrNotFound is what Stat and Open return for a key that is not stored.
var ErrNotFound = errors.New("not found")

// ErrChecksum is what Put and Upload.Complete return when the bytes do
// not hash to the sha256 given: nothing was stored.
var ErrChecksum = errors.New("content does not match its sha256")

// StoreError names the store an operation failed on.
type StoreError struct {
	Store string
	Op    string
	Key   string
	Err   error
}

func (e *StoreError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s: %v", e.Store, e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %s %s: %v", e.Store, e.Op, e.Key, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// CheckKey refuses keys that could leave the store's prefix or mean
// something else on a file system: empty, absolute, with "." or ".."
// elements, backslashes or control characters.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("key %q: empty, or starts or ends with /", key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("key %q: empty, . or .. element", key)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("key %q: control character or backslash", key)
		}
	}
	return nil
}
