package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// uploadsDir holds, under the store's prefix, the state of each upload in
// progress (.tier/uploads/<key>.json; not ".uploads", which SeaweedFS
// keeps for its own multipart parts and leaves out of every listing).
// Archive keys start with a letter or a digit, so none lands there; List
// leaves it out.
const uploadsDir = ".tier/uploads/"

// uploadState is what a replica needs to carry on another's multipart
// upload. A part counts as stored once the state names it (a part stored
// but not named yet is written again). Each part keeps the sha256 state
// after it, so a resumer that trusts only the first parts restores the
// hash there and hashes only the bytes it writes: the whole object is
// checked against SHA256 although no one process saw all of it.
type uploadState struct {
	UploadID string            `json:"upload_id"`
	Size     int64             `json:"size"`
	SHA256   string            `json:"sha256"`
	Meta     map[string]string `json:"meta,omitempty"`
	Started  time.Time         `json:"started"`
	Parts    []statePart       `json:"parts"`
}

type statePart struct {
	N    int    `json:"n"` // 1, 2, ...: part i holds the bytes after parts 1..i-1
	ETag string `json:"etag"`
	Size int64  `json:"size"`
	Hash []byte `json:"hash"` // sha256's MarshalBinary after this part
}

func (s *S3) stateObject(key string) (string, error) { return s.object(uploadsDir + key + ".json") }

// readState reads key's upload state; nil when there is none or it does
// not parse (a resumer then starts over).
func (s *S3) readState(ctx context.Context, key string) (*uploadState, error) {
	st, _, err := s.loadState(ctx, key)
	return st, err
}

// loadState is readState with the time the state was last written.
func (s *S3) loadState(ctx context.Context, key string) (*uploadState, time.Time, error) {
	obj, err := s.stateObject(key)
	if err != nil {
		return nil, time.Time{}, err
	}
	o, err := s.c.GetObject(ctx, s.o.Bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, time.Time{}, explain(err)
	}
	defer o.Close()
	oi, err := o.Stat()
	var b []byte
	if err == nil {
		b, err = io.ReadAll(io.LimitReader(o, 4<<20))
	}
	if err != nil {
		if err = explain(err); errors.Is(err, ErrNotFound) {
			return nil, time.Time{}, nil
		}
		return nil, time.Time{}, err
	}
	st := &uploadState{}
	if json.Unmarshal(b, st) != nil || st.UploadID == "" {
		return nil, oi.LastModified, nil
	}
	return st, oi.LastModified, nil
}

func (s *S3) writeState(ctx context.Context, key string, st *uploadState) error {
	obj, err := s.stateObject(key)
	if err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = s.c.PutObject(ctx, s.o.Bucket, obj, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{ContentType: "application/json"})
	return explain(err)
}

// dropState deletes key's upload state if it is still that of uploadID:
// another writer may have started an upload of its own since.
func (s *S3) dropState(ctx context.Context, key, uploadID string) error {
	st, err := s.readState(ctx, key)
	if err != nil || st == nil || st.UploadID != uploadID {
		return err
	}
	obj, err := s.stateObject(key)
	if err != nil {
		return err
	}
	return explain(s.c.RemoveObject(ctx, s.o.Bucket, obj, minio.RemoveObjectOptions{}))
}

func noSuchUpload(err error) bool { return minio.ToErrorResponse(err).Code == "NoSuchUpload" }

// Resume carries on key's multipart upload from the parts its state
// names and the bucket still holds, or starts one. Writes use ctx.
//
// Replicas do not lock an upload (the archive has one pull a segment at a
// time). Two that resume together write the same part numbers, and each
// rewrites the state with its own parts; CompleteMultipartUpload checks
// each part's ETag, so one whose part was overwritten with other bytes
// fails (InvalidPart; SeaweedFS keeps both and takes the ETag named)
// rather than store them. With the same bytes the first completes and
// the second finds the object stored.
func (s *S3) Resume(ctx context.Context, key string, size int64, sum string, meta map[string]string) (Upload, error) {
	fail := func(err error) (Upload, error) {
		return nil, &StoreError{Store: s.name, Op: "resume", Key: key, Err: err}
	}
	obj, err := s.object(key)
	if err == nil {
		err = checkResume(size, sum, meta)
	}
	if err == nil && size > s.o.PartSize*maxParts {
		err = fmt.Errorf("%d bytes: more than %d parts of %d", size, maxParts, s.o.PartSize)
	}
	if err != nil {
		return fail(err)
	}
	switch in, err := s.Stat(ctx, key); {
	case err == nil && in.SHA256 == sum:
		return fail(ErrStored)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, err
	}
	u := &s3Upload{s: s, ctx: ctx, key: key, obj: obj, core: minio.Core{Client: s.c}, h: sha256.New()}
	st, err := s.readState(ctx, key)
	if err != nil {
		return fail(err)
	}
	if st != nil && st.Size == size && st.SHA256 == sum && maps.Equal(st.Meta, meta) {
		ok, err := u.carryOn(st)
		if err != nil {
			return fail(err)
		}
		if ok {
			return u, nil
		}
	} else if st != nil {
		// an upload of other bytes for the key: no one could resume it
		// once its state is replaced, and a writer still at it had better
		// learn that now
		_ = u.core.AbortMultipartUpload(ctx, s.o.Bucket, obj, st.UploadID)
	}
	um := map[string]string{"sha256": sum}
	maps.Copy(um, meta)
	id, err := u.core.NewMultipartUpload(ctx, s.o.Bucket, obj, minio.PutObjectOptions{UserMetadata: um, ContentType: contentType(key)})
	if err != nil {
		return fail(explain(err))
	}
	u.st = &uploadState{UploadID: id, Size: size, SHA256: sum, Meta: meta, Started: time.Now().UTC()}
	// stated at once, so that an upload with no part yet is found (and
	// cleaned) all the same
	if err := s.writeState(ctx, key, u.st); err != nil {
		_ = u.core.AbortMultipartUpload(ctx, s.o.Bucket, obj, id)
		return fail(err)
	}
	return u, nil
}

// carryOn takes up st's upload with the longest run of its parts, from
// the first, that the bucket holds with the same ETag and size; false
// when the upload is gone. (SeaweedFS lists every upload of a part
// number, and completes with the one whose ETag it is given.)
func (u *s3Upload) carryOn(st *uploadState) (bool, error) {
	held := map[int][]minio.ObjectPart{}
	for marker := 0; ; {
		res, err := u.core.ListObjectParts(u.ctx, u.s.o.Bucket, u.obj, st.UploadID, marker, 1000)
		if noSuchUpload(err) {
			return false, nil
		}
		if err != nil {
			return false, explain(err)
		}
		for _, p := range res.ObjectParts {
			held[p.PartNumber] = append(held[p.PartNumber], p)
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			break
		}
		marker = res.NextPartNumberMarker
	}
	n := 0
	for i, p := range st.Parts {
		if p.N != i+1 || !slices.ContainsFunc(held[p.N], func(h minio.ObjectPart) bool {
			return strings.Trim(h.ETag, `"`) == p.ETag && h.Size == p.Size
		}) {
			break
		}
		n++
	}
	for ; n > 0; n-- {
		if u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Parts[n-1].Hash) == nil {
			break
		}
		u.h.Reset()
	}
	st.Parts = st.Parts[:n]
	u.st = st
	for _, p := range st.Parts {
		u.stored += p.Size
	}
	return true, nil
}

// s3Upload is one writer of an upload: what the state names is stored,
// buf is what this writer holds towards the next part.
type s3Upload struct {
	s      *S3
	ctx    context.Context // Resume's, for the writes
	key    string
	obj    string
	core   minio.Core
	st     *uploadState
	stored int64     // bytes in st.Parts
	h      hash.Hash // sha256 of the stored parts and buf
	buf    []byte
	err    error // once set (closed, completed, a part lost), every call returns it
	done   bool  // completed or dropped: Abort has nothing left to drop
}

func (u *s3Upload) fail(op string, err error) error {
	return &StoreError{Store: u.s.name, Op: op, Key: u.key, Err: err}
}

// lost explains a refused part or completion: the upload is gone when
// another replica completed it (ErrStored when the key holds the object)
// or aborted it.
func (u *s3Upload) lost(ctx context.Context, op string, err error) error {
	if !noSuchUpload(err) {
		return u.fail(op, explain(err))
	}
	if in, serr := u.s.Stat(ctx, u.key); serr == nil && in.SHA256 == u.st.SHA256 {
		return u.fail(op, ErrStored)
	}
	return u.fail(op, fmt.Errorf("the upload is gone: aborted, or completed by another writer (%w)", err))
}

var errClosed = errors.New("upload closed")

func (u *s3Upload) Offset() int64 { return u.stored }

func (u *s3Upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.stored+int64(len(u.buf))+int64(len(p)) > u.st.Size {
		return 0, u.fail("write", fmt.Errorf("more than the %d bytes announced", u.st.Size))
	}
	n := 0
	for len(p) > 0 {
		if u.buf == nil {
			u.buf = make([]byte, 0, u.s.o.PartSize)
		}
		k := min(len(p), cap(u.buf)-len(u.buf))
		u.buf = append(u.buf, p[:k]...)
		u.h.Write(p[:k])
		n, p = n+k, p[k:]
		if len(u.buf) == cap(u.buf) {
			if err := u.putPart(u.ctx, "write", true); err != nil {
				u.err = err
				return n, err
			}
		}
	}
	return n, nil
}

// putPart stores buf as the next part and, when state, names it in the
// upload's state (not the last part: Complete follows at once).
func (u *s3Upload) putPart(ctx context.Context, op string, state bool) error {
	n := len(u.st.Parts) + 1
	md := md5.Sum(u.buf)
	p, err := u.core.PutObjectPart(ctx, u.s.o.Bucket, u.obj, u.st.UploadID, n, bytes.NewReader(u.buf), int64(len(u.buf)),
		minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(md[:])})
	if err != nil {
		return u.lost(ctx, op, err)
	}
	hs, err := u.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return u.fail(op, err)
	}
	st := *u.st
	st.Parts = append(st.Parts[:len(st.Parts):len(st.Parts)], statePart{N: n, ETag: strings.Trim(p.ETag, `"`), Size: int64(len(u.buf)), Hash: hs})
	if state {
		if err := u.s.writeState(ctx, u.key, &st); err != nil {
			return u.fail(op, err)
		}
	}
	u.st, u.stored, u.buf = &st, u.stored+int64(len(u.buf)), u.buf[:0]
	return nil
}

// Complete checks size and sha256 before it stores the last part, then
// assembles the parts. An object stored under the key meanwhile ends the
// upload when it has the same sha256; with another it is not replaced
// (an error matching fs.ErrExist; the upload is kept, to Abort, or to
// Complete once the key is free).
func (u *s3Upload) Complete(ctx context.Context) (Info, error) {
	if u.err != nil {
		return Info{}, u.err
	}
	got := hex.EncodeToString(u.h.Sum(nil))
	if n := u.stored + int64(len(u.buf)); n != u.st.Size || got != u.st.SHA256 {
		u.err = u.fail("complete", errClosed)
		err := fmt.Errorf("%w: %d bytes of %d hash to %s", ErrChecksum, n, u.st.Size, got)
		if derr := u.drop(ctx); derr != nil {
			err = fmt.Errorf("%w; dropping the upload: %v", err, derr)
		}
		return Info{}, u.fail("complete", err)
	}
	in, err := u.s.Stat(ctx, u.key)
	switch {
	case err == nil && in.SHA256 == u.st.SHA256:
		err = u.drop(ctx) // stored by another replica
	case err == nil:
		return Info{}, u.fail("complete", fmt.Errorf("%w with sha256 %s", fs.ErrExist, in.SHA256))
	case errors.Is(err, ErrNotFound):
		if err = u.complete(ctx); errors.Is(err, ErrStored) {
			err = nil // completed by another replica
		}
	}
	if err != nil {
		return Info{}, err
	}
	u.err, u.done = u.fail("complete", errClosed), true
	return u.s.Stat(ctx, u.key)
}

func (u *s3Upload) complete(ctx context.Context) error {
	if len(u.buf) > 0 || len(u.st.Parts) == 0 {
		if err := u.putPart(ctx, "complete", false); err != nil {
			return err
		}
	}
	parts := make([]minio.CompletePart, len(u.st.Parts))
	for i, p := range u.st.Parts {
		parts[i] = minio.CompletePart{PartNumber: p.N, ETag: p.ETag}
	}
	if _, err := u.core.CompleteMultipartUpload(ctx, u.s.o.Bucket, u.obj, u.st.UploadID, parts, minio.PutObjectOptions{}); err != nil {
		return u.lost(ctx, "complete", err)
	}
	// stored: a state left behind is harmless (Resume finds the object
	// first) and goes with DropAbandoned
	_ = u.s.dropState(ctx, u.key, u.st.UploadID)
	return nil
}

func (u *s3Upload) drop(ctx context.Context) error {
	if u.done {
		return nil
	}
	err := u.core.AbortMultipartUpload(ctx, u.s.o.Bucket, u.obj, u.st.UploadID)
	if err != nil && !noSuchUpload(err) {
		return u.fail("abort", explain(err))
	}
	if err := u.s.dropState(ctx, u.key, u.st.UploadID); err != nil {
		return u.fail("abort", err)
	}
	u.done = true
	return nil
}

// Abort drops the upload, whoever wrote its parts.
func (u *s3Upload) Abort(ctx context.Context) error {
	u.err, u.buf = u.fail("write", errClosed), nil
	return u.drop(ctx)
}

// Close forgets what is buffered; the stored parts wait for a Resume.
func (u *s3Upload) Close() error {
	if u.err == nil {
		u.err = u.fail("write", errClosed)
	}
	u.buf = nil
	return nil
}
