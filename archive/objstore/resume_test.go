package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// writeUneven writes b in writes of uneven sizes, as a network read hands
// them over.
func writeUneven(t *testing.T, u objstore.Upload, b []byte) {
	t.Helper()
	sizes := []int{1, 4093, 7, 65537, 100_000, 333, 1 << 20}
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		if k, err := u.Write(b[:n]); err != nil || k != n {
			t.Fatalf("write: %d of %d, %v", k, n, err)
		}
		b = b[n:]
	}
}

func readAll(t *testing.T, s objstore.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resumeContract is what every store's uploads must do. again opens a
// second client of the same store, as another replica's process would;
// part is the S3 part size (0: the store keeps every byte written);
// leftovers lists what uploads keep beside the objects.
func resumeContract(t *testing.T, s objstore.Store, again func(t *testing.T) objstore.Store, part int, leftovers func(t *testing.T) []string) {
	ctx := context.Background()
	size, first := 1_000_000, 300_000
	if part > 0 {
		size, first = 2*part+part/2+12_345, part+part/2
	}
	meta := map[string]string{"origin": "site-1", "camera": "Camera1", "start": "2026-12-05T10:00:00Z"}
	dir := "site-1/Camera1/2026/12/05/10/"
	done := map[string]bool{}

	// complete writes the rest of b from u's offset, completes and checks
	// what is stored
	complete := func(t *testing.T, s objstore.Store, u objstore.Upload, key string, b []byte) {
		t.Helper()
		writeUneven(t, u, b[u.Offset():])
		in, err := u.Complete(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if in.Key != key || in.Size != int64(len(b)) || in.SHA256 != sum(b) || !maps.Equal(in.Meta, meta) {
			t.Fatalf("completed: %+v", in)
		}
		if st, err := s.Stat(ctx, key); err != nil || st.Size != in.Size || st.SHA256 != in.SHA256 || !maps.Equal(st.Meta, meta) {
			t.Fatalf("stat: %+v %v", st, err)
		}
		if !bytes.Equal(readAll(t, s, key), b) {
			t.Fatal("the object read back is not the bytes written")
		}
		done[key] = true
	}
	// carried checks where a second writer carries on the first's bytes
	carried := func(t *testing.T, u objstore.Upload) {
		t.Helper()
		off := u.Offset()
		if off <= 0 || off > int64(first) || part > 0 && off%int64(part) != 0 || part == 0 && off != int64(first) {
			t.Fatalf("resumed at %d, after %d bytes written in parts of %d", off, first, part)
		}
	}

	t.Run("whole", func(t *testing.T) {
		b := random(t, size)
		u, err := s.Resume(ctx, dir+"whole.mp4", int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		if u.Offset() != 0 {
			t.Fatalf("a new upload at %d", u.Offset())
		}
		complete(t, s, u, dir+"whole.mp4", b)
		if err := u.Close(); err != nil {
			t.Fatalf("close after complete: %v", err)
		}
	})

	t.Run("resume after Close", func(t *testing.T) {
		key := dir + "closed.mp4"
		b := random(t, size)
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:first])
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
		// nothing shows before it completes
		if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("an upload in progress shows: %v", err)
		}
		s2 := again(t)
		u2, err := s2.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		carried(t, u2)
		complete(t, s2, u2, key, b)
	})

	t.Run("resume after the writer died", func(t *testing.T) {
		key := dir + "died.mp4"
		b := random(t, size)
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:first])
		// neither Close nor Complete: dropped as a process that dies
		s2 := again(t)
		u2, err := s2.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		carried(t, u2)
		complete(t, s2, u2, key, b)
	})

	t.Run("two writers carry on together", func(t *testing.T) {
		// the same bytes from the same offset: one completes, the other
		// finds the object stored (ErrStored, or Complete succeeds)
		key := dir + "twice.mp4"
		b := random(t, size)
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:first])
		u.Close()
		a, err := s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		c, err := again(t).Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		rest := b[a.Offset():]
		writeUneven(t, a, rest[:len(rest)/2])
		complete(t, s, c, key, b)
		switch _, err := a.Write(rest[len(rest)/2:]); {
		case errors.Is(err, objstore.ErrStored):
			t.Log(err)
		case err != nil:
			t.Fatalf("the second writer: %v", err)
		default:
			if in, err := a.Complete(ctx); err != nil || in.SHA256 != sum(b) {
				t.Fatalf("the second to complete: %+v %v", in, err)
			}
		}
		a.Close()
		if !bytes.Equal(readAll(t, s, key), b) {
			t.Fatal("the object read back is not the bytes written")
		}
	})

	t.Run("wrong bytes", func(t *testing.T) {
		key := dir + "wrong.mp4"
		b := random(t, size)
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(b)
		bad[len(bad)/2] ^= 1
		writeUneven(t, u, bad)
		if _, err := u.Complete(ctx); !errors.Is(err, objstore.ErrChecksum) || !strings.Contains(err.Error(), key) {
			t.Fatalf("complete of wrong bytes: %v", err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("the refused object is there: %v", err)
		}
		u, err = s.Resume(ctx, key, int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		if u.Offset() != 0 {
			t.Fatalf("resumed a refused upload at %d", u.Offset())
		}
		// a short one too
		writeUneven(t, u, b[:len(b)-1])
		if _, err := u.Complete(ctx); !errors.Is(err, objstore.ErrChecksum) {
			t.Fatalf("complete of too few bytes: %v", err)
		}
		u, err = s.Resume(ctx, key, 3, sum([]byte("abc")), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.Write([]byte("abcd")); err == nil {
			t.Fatal("took more bytes than announced")
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("stored already", func(t *testing.T) {
		b := readAll(t, s, dir+"whole.mp4")
		if _, err := s.Resume(ctx, dir+"whole.mp4", int64(len(b)), sum(b), meta); !errors.Is(err, objstore.ErrStored) {
			t.Fatalf("resume of a stored object: %v", err)
		}
		// other bytes: the store takes the upload but does not replace
		// the object with them
		u, err := s.Resume(ctx, dir+"whole.mp4", 3, sum([]byte("xyz")), meta)
		if err != nil {
			t.Fatal(err)
		}
		if u.Offset() != 0 {
			t.Fatalf("at %d", u.Offset())
		}
		writeUneven(t, u, []byte("xyz"))
		if _, err := u.Complete(ctx); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("complete over another object: %v", err)
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if in, err := s.Stat(ctx, dir+"whole.mp4"); err != nil || in.SHA256 != sum(b) {
			t.Fatalf("the stored object: %+v %v", in, err)
		}
	})

	t.Run("empty", func(t *testing.T) {
		u, err := s.Resume(ctx, dir+"empty.mp4", 0, sum(nil), meta)
		if err != nil {
			t.Fatal(err)
		}
		complete(t, s, u, dir+"empty.mp4", nil)
	})

	t.Run("refused arguments", func(t *testing.T) {
		for _, c := range []struct {
			sum  string
			meta map[string]string
		}{
			{strings.ToUpper(sum(nil)), nil},
			{"abc", nil},
			{sum(nil), map[string]string{"Origin": "x"}},
			{sum(nil), map[string]string{"sha256": "x"}},
			{sum(nil), map[string]string{"a b": "x"}},
			{sum(nil), map[string]string{"origin": "caf\u00e9"}},
			{sum(nil), map[string]string{"origin": " x"}},
			{sum(nil), map[string]string{"origin": strings.Repeat("x", 2048)}},
		} {
			if _, err := s.Resume(ctx, dir+"refused.mp4", 0, c.sum, c.meta); err == nil {
				t.Errorf("took sha256 %q, meta %q", c.sum, c.meta)
			}
		}
		if _, err := s.Resume(ctx, "a/../b.mp4", 0, sum(nil), nil); err == nil {
			t.Error("took a key with ..")
		}
	})

	t.Run("list shows objects only", func(t *testing.T) {
		// an upload in progress, with something stored
		b := random(t, size)
		u, err := s.Resume(ctx, dir+"pending.mp4", int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:first])
		u.Close()
		if len(leftovers(t)) == 0 {
			t.Fatal("an upload in progress keeps nothing")
		}
		var keys []string
		if err := s.List(ctx, "", func(in objstore.Info) error {
			keys = append(keys, in.Key)
			if !done[in.Key] {
				t.Errorf("listed %q", in.Key)
			}
			if in.SHA256 == "" || in.Meta != nil && !maps.Equal(in.Meta, meta) {
				t.Errorf("listed %+v", in)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(keys) != len(done) {
			t.Fatalf("listed %q of %v", keys, done)
		}
		u, err = again(t).Resume(ctx, dir+"pending.mp4", int64(len(b)), sum(b), meta)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if l := leftovers(t); len(l) != 0 {
			t.Fatalf("left behind: %q", l)
		}
	})
}

func TestFSResume(t *testing.T) {
	root := t.TempDir()
	s, err := objstore.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	again := func(t *testing.T) objstore.Store {
		s, err := objstore.NewFS(root)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// dot files: Put's and uploads'
	leftovers := func(t *testing.T) []string {
		var l []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".") {
				l = append(l, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	resumeContract(t, s, again, 0, leftovers)
}

// s3Resume runs the upload contract against a SeaweedFS already started
// (each start costs seconds), under a prefix of its own.
func s3Resume(t *testing.T, o objstore.S3Options) {
	ctx := context.Background()
	o.Prefix = "region-b"
	o.PartSize = objstore.MinPartSize
	s, err := objstore.NewS3(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	again := func(t *testing.T) objstore.Store {
		s, err := objstore.NewS3(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	raw, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	// upload states and multipart uploads
	leftovers := func(t *testing.T) []string {
		var l []string
		for oi := range raw.ListObjects(ctx, o.Bucket, minio.ListObjectsOptions{Prefix: o.Prefix + "/.tier/uploads/", Recursive: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			l = append(l, oi.Key)
		}
		for up := range raw.ListIncompleteUploads(ctx, o.Bucket, o.Prefix+"/", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			l = append(l, up.Key+" "+up.UploadID)
		}
		return l
	}
	resumeContract(t, s, again, objstore.MinPartSize, leftovers)

	t.Run("uploads in progress", func(t *testing.T) {
		b := random(t, 2*objstore.MinPartSize)
		key := "site-1/Camera1/2026/12/05/12/inprogress.mp4"
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:objstore.MinPartSize+1000])
		var got []objstore.UploadInfo
		if err := s.Uploads(ctx, func(in objstore.UploadInfo) error { got = append(got, in); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Key != key || got[0].Parts != 1 || got[0].Stored != objstore.MinPartSize || got[0].Size != int64(len(b)) {
			t.Fatalf("uploads in progress: %+v", got)
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("state the bucket does not bear out", func(t *testing.T) {
		b := random(t, 2*objstore.MinPartSize+1)
		key := "site-1/Camera1/2026/12/05/11/stale.mp4"
		obj := o.Prefix + "/" + key
		pending := func() (id string) {
			t.Helper()
			u, err := s.Resume(ctx, key, int64(len(b)), sum(b), nil)
			if err != nil {
				t.Fatal(err)
			}
			writeUneven(t, u, b[:objstore.MinPartSize+1])
			u.Close()
			for up := range raw.ListIncompleteUploads(ctx, o.Bucket, obj, false) {
				id = up.UploadID
			}
			if id == "" {
				t.Fatal("no upload")
			}
			return id
		}
		resume := func(at ...int64) {
			t.Helper()
			u, err := again(t).Resume(ctx, key, int64(len(b)), sum(b), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(at, u.Offset()) {
				t.Fatalf("resumed at %d, not at one of %d", u.Offset(), at)
			}
			writeUneven(t, u, b[u.Offset():])
			if in, err := u.Complete(ctx); err != nil || in.SHA256 != sum(b) {
				t.Fatalf("completed %+v %v", in, err)
			}
			if !bytes.Equal(readAll(t, s, key), b) {
				t.Fatal("the object read back is not the bytes written")
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		core := minio.Core{Client: raw}
		// a part the state names, uploaded again with other bytes: not
		// trusted where the store keeps the last upload of a part (AWS),
		// trusted where it keeps them all and completes with the ETag
		// named (SeaweedFS); the object is right either way
		id := pending()
		if _, err := core.PutObjectPart(ctx, o.Bucket, obj, id, 1, bytes.NewReader(b[1:objstore.MinPartSize+1]), objstore.MinPartSize, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
		resume(0, objstore.MinPartSize)
		// an upload aborted behind the state's back: started over
		id = pending()
		if err := core.AbortMultipartUpload(ctx, o.Bucket, obj, id); err != nil {
			t.Fatal(err)
		}
		resume(0)
		if l := leftovers(t); len(l) != 0 {
			t.Fatalf("left behind: %q", l)
		}
	})

	t.Run("abandoned uploads", func(t *testing.T) {
		b := random(t, 2*objstore.MinPartSize)
		key := "site-1/Camera1/2026/12/05/11/abandoned.mp4"
		u, err := s.Resume(ctx, key, int64(len(b)), sum(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		writeUneven(t, u, b[:objstore.MinPartSize+1])
		u.Close()
		if dropped, err := s.DropAbandoned(ctx, time.Hour); err != nil || len(dropped) != 0 {
			t.Fatalf("dropped a recent upload: %q %v", dropped, err)
		}
		if dropped, err := s.DropAbandoned(ctx, 0); err != nil || len(dropped) != 1 || dropped[0] != key {
			t.Fatalf("dropped %q %v", dropped, err)
		}
		if l := leftovers(t); len(l) != 0 {
			t.Fatalf("left behind: %q", l)
		}
		u, err = s.Resume(ctx, key, int64(len(b)), sum(b), nil)
		if err != nil || u.Offset() != 0 {
			t.Fatalf("after the upload was dropped: %v", err)
		}
		if err := u.Abort(ctx); err != nil {
			t.Fatal(err)
		}
	})

	if _, err := objstore.NewS3(ctx, objstore.S3Options{Endpoint: o.Endpoint, Bucket: o.Bucket, PartSize: 1 << 20}); err == nil || !strings.Contains(err.Error(), "5 MiB") {
		t.Errorf("a part size S3 refuses: %v", err)
	}
}
