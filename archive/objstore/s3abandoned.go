package objstore

import (
	"context"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// DropAbandoned aborts the multipart uploads under the store's prefix
// that nobody carried on for olderThan — begun that long ago, with no
// part stored since — and deletes the upload states as old: what replicas
// that died left and none resumed. S3 keeps such an upload's parts (and
// bills them) until it is aborted or a lifecycle rule ends it. olderThan
// must exceed the longest a writer may pause between parts, and the
// longest a Put of a large object takes (minio-go's multipart uploads
// have no state). It returns the keys whose uploads it dropped.
func (s *S3) DropAbandoned(ctx context.Context, olderThan time.Duration) ([]string, error) {
	fail := func(err error) error {
		return &StoreError{Store: s.name, Op: "drop abandoned uploads", Err: explain(err)}
	}
	cutoff := time.Now().Add(-olderThan)
	prefix := ""
	if s.o.Prefix != "" {
		prefix = s.o.Prefix + "/"
	}
	core := minio.Core{Client: s.c}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var dropped []string
	for up := range s.c.ListIncompleteUploads(ctx, s.o.Bucket, prefix, true) {
		if up.Err != nil {
			return dropped, fail(up.Err)
		}
		key := strings.TrimPrefix(up.Key, prefix)
		if !up.Initiated.Before(cutoff) || CheckKey(key) != nil {
			continue
		}
		st, at, err := s.loadState(ctx, key)
		if err != nil {
			return dropped, fail(err)
		}
		if st != nil && st.UploadID == up.UploadID && !at.Before(cutoff) {
			continue // a part stored lately
		}
		if err := core.AbortMultipartUpload(ctx, s.o.Bucket, up.Key, up.UploadID); err != nil && !noSuchUpload(err) {
			return dropped, fail(err)
		}
		dropped = append(dropped, key)
	}
	states := prefix + uploadsDir
	for oi := range s.c.ListObjects(ctx, s.o.Bucket, minio.ListObjectsOptions{Prefix: states, Recursive: true}) {
		if oi.Err != nil {
			return dropped, fail(oi.Err)
		}
		key, ok := strings.CutSuffix(strings.TrimPrefix(oi.Key, states), ".json")
		if !ok || !oi.LastModified.Before(cutoff) {
			continue
		}
		// its upload, if still there, began before it was last written
		if st, _, err := s.loadState(ctx, key); err == nil && st != nil {
			if obj, err := s.object(key); err == nil {
				_ = core.AbortMultipartUpload(ctx, s.o.Bucket, obj, st.UploadID)
			}
		}
		if err := s.c.RemoveObject(ctx, s.o.Bucket, oi.Key, minio.RemoveObjectOptions{}); err != nil {
			return dropped, fail(err)
		}
	}
	return dropped, nil
}

// UploadInfo is an upload in progress, as its state says.
type UploadInfo struct {
	Key     string    `json:"key"`
	Parts   int       `json:"parts"`  // stored
	Stored  int64     `json:"stored"` // bytes in those parts
	Size    int64     `json:"size"`   // of the whole object
	Started time.Time `json:"started"`
}

// Uploads calls fn for every upload in progress under the store's prefix
// (those that died too, until DropAbandoned drops them).
func (s *S3) Uploads(ctx context.Context, fn func(UploadInfo) error) error {
	prefix := ""
	if s.o.Prefix != "" {
		prefix = s.o.Prefix + "/"
	}
	states := prefix + uploadsDir
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range s.c.ListObjects(ctx, s.o.Bucket, minio.ListObjectsOptions{Prefix: states, Recursive: true}) {
		if oi.Err != nil {
			return &StoreError{Store: s.name, Op: "list uploads", Err: explain(oi.Err)}
		}
		key, ok := strings.CutSuffix(strings.TrimPrefix(oi.Key, states), ".json")
		if !ok {
			continue
		}
		st, err := s.readState(ctx, key)
		if err != nil {
			return &StoreError{Store: s.name, Op: "list uploads", Key: key, Err: err}
		}
		if st == nil {
			continue
		}
		in := UploadInfo{Key: key, Parts: len(st.Parts), Size: st.Size, Started: st.Started}
		for _, p := range st.Parts {
			in.Stored += p.Size
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}
