package objstore

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options reach a bucket of S3-compatible object storage.
type S3Options struct {
	Endpoint  string // host:port
	Bucket    string
	Prefix    string // keys are stored under it ("" or ending without /)
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	CA        string // PEM file of the CA that signs the endpoint (default: the system's)
	Timeout   time.Duration
	// PartSize is how much an Upload buffers and stores as one part of
	// its multipart upload (default 8 MiB): the most a replica that dies
	// loses, and memory per upload. AWS S3, MinIO and SeaweedFS refuse
	// parts under 5 MiB but the last, so NewS3 does too; at most 10000
	// parts make an object, so PartSize also bounds its size.
	PartSize int64
}

// Part sizes S3 takes (all but the last part of an upload).
const (
	MinPartSize     = 5 << 20
	DefaultPartSize = 8 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10000
)

// S3 keeps objects in a bucket under a prefix, with the sha256 as the
// object's user metadata (x-amz-meta-sha256).
type S3 struct {
	o    S3Options
	c    *minio.Client
	name string
}

// NewS3 makes the client and checks that the bucket is there and the
// credentials open it: a store that cannot be reached is said at once,
// naming it.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	o.Prefix = strings.Trim(o.Prefix, "/")
	scheme := "http"
	if o.TLS {
		scheme = "https"
	}
	name := fmt.Sprintf("s3 %s://%s/%s", scheme, o.Endpoint, o.Bucket)
	if o.Prefix != "" {
		name += "/" + o.Prefix
	}
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, &StoreError{Store: name, Op: "open", Err: errors.New("endpoint and bucket are required")}
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize || o.PartSize > maxPartSize {
		return nil, &StoreError{Store: name, Op: "open", Err: fmt.Errorf("part size %d: S3 takes 5 MiB to 5 GiB", o.PartSize)}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = o.Timeout
	if o.CA != "" {
		pem, err := os.ReadFile(o.CA)
		if err != nil {
			return nil, &StoreError{Store: name, Op: "open", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &StoreError{Store: name, Op: "open", Err: fmt.Errorf("%s holds no PEM certificate", o.CA)}
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: o.TLS, Region: o.Region,
		Transport: tr, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, &StoreError{Store: name, Op: "open", Err: err}
	}
	s := &S3{o: o, c: c, name: name}
	return s, s.Check(ctx)
}

// Check asks for the bucket: wrong credentials, a missing bucket or an
// endpoint that does not answer are errors naming the store.
func (s *S3) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	ok, err := s.c.BucketExists(ctx, s.o.Bucket)
	if err != nil {
		return &StoreError{Store: s.name, Op: "check", Err: explain(err)}
	}
	if !ok {
		return &StoreError{Store: s.name, Op: "check", Err: fmt.Errorf("bucket %q does not exist", s.o.Bucket)}
	}
	return nil
}

// explain turns S3 error codes into what an operator acts on.
func explain(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
		return fmt.Errorf("refused: wrong access key or secret, or no right to the bucket (%w)", err)
	case "NoSuchBucket":
		return fmt.Errorf("the bucket does not exist (%w)", err)
	case "NoSuchKey":
		return ErrNotFound
	}
	return err
}

// Name says which bucket, where.
func (s *S3) Name() string { return s.name }

func (s *S3) object(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if s.o.Prefix == "" {
		return key, nil
	}
	return s.o.Prefix + "/" + key, nil
}

// hashReader hashes what is read through it and, at the end, refuses to
// hand the last bytes over if they do not hash to the sum: the upload is
// then aborted rather than completed.
type hashReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF && h.want != "" && hex.EncodeToString(h.h.Sum(nil)) != h.want {
		return 0, ErrChecksum
	}
	return n, err
}

// Put uploads with the sha256 as metadata (a multipart upload for large
// objects, which minio-go aborts when the read fails).
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, sum string) error {
	obj, err := s.object(key)
	if err != nil {
		return &StoreError{Store: s.name, Op: "put", Key: key, Err: err}
	}
	meta := map[string]string{}
	if sum != "" {
		meta["sha256"] = sum
	}
	hr := &hashReader{r: io.LimitReader(r, size), h: sha256.New(), want: sum}
	_, err = s.c.PutObject(ctx, s.o.Bucket, obj, hr, size, minio.PutObjectOptions{
		UserMetadata: meta, ContentType: contentType(key), SendContentMd5: false,
	})
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			return &StoreError{Store: s.name, Op: "put", Key: key, Err: ErrChecksum}
		}
		return &StoreError{Store: s.name, Op: "put", Key: key, Err: explain(err)}
	}
	return nil
}

func contentType(key string) string {
	if strings.HasSuffix(key, ".mp4") {
		return "video/mp4"
	}
	return "application/octet-stream"
}

// Open asks for a byte range only.
func (s *S3) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, &StoreError{Store: s.name, Op: "open", Key: key, Err: err}
	}
	opts := minio.GetObjectOptions{}
	switch {
	case n > 0:
		err = opts.SetRange(off, off+n-1)
	case n == 0:
		return io.NopCloser(strings.NewReader("")), nil
	case off > 0:
		err = opts.SetRange(off, 0)
	}
	if err != nil {
		return nil, &StoreError{Store: s.name, Op: "open", Key: key, Err: err}
	}
	o, err := s.c.GetObject(ctx, s.o.Bucket, obj, opts)
	if err != nil {
		return nil, &StoreError{Store: s.name, Op: "open", Key: key, Err: explain(err)}
	}
	// GetObject is lazy: ask for the object now, so that a missing one is
	// said here and not at the first read
	if _, err := o.Stat(); err != nil {
		o.Close()
		return nil, &StoreError{Store: s.name, Op: "open", Key: key, Err: explain(err)}
	}
	return o, nil
}

// Stat reads the object's head.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return Info{}, &StoreError{Store: s.name, Op: "stat", Key: key, Err: err}
	}
	oi, err := s.c.StatObject(ctx, s.o.Bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, &StoreError{Store: s.name, Op: "stat", Key: key, Err: explain(err)}
	}
	sum, meta := userMeta(oi.UserMetadata)
	return Info{Key: key, Size: oi.Size, SHA256: sum, Meta: meta, Modified: oi.LastModified.UTC()}, nil
}

// List lists the prefix with each object's metadata, leaving out the
// state of uploads in progress.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	full := prefix
	if s.o.Prefix != "" {
		full = s.o.Prefix + "/" + prefix
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range s.c.ListObjects(ctx, s.o.Bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true, WithMetadata: true}) {
		if oi.Err != nil {
			return &StoreError{Store: s.name, Op: "list", Key: prefix, Err: explain(oi.Err)}
		}
		key := oi.Key
		if s.o.Prefix != "" {
			key = strings.TrimPrefix(key, s.o.Prefix+"/")
		}
		if strings.HasPrefix(key, uploadsDir) {
			continue
		}
		in := Info{Key: key, Size: oi.Size, Modified: oi.LastModified.UTC()}
		in.SHA256, in.Meta = userMeta(oi.UserMetadataStripped)
		if in.SHA256 == "" {
			// a store that lists without metadata (MinIO's extension):
			// the object's head has it
			st, err := s.Stat(ctx, key)
			if err != nil {
				return err
			}
			in.SHA256, in.Meta = st.SHA256, st.Meta
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return &StoreError{Store: s.name, Op: "delete", Key: key, Err: err}
	}
	if err := s.c.RemoveObject(ctx, s.o.Bucket, obj, minio.RemoveObjectOptions{}); err != nil {
		return &StoreError{Store: s.name, Op: "delete", Key: key, Err: explain(err)}
	}
	return nil
}
