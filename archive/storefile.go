package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
)

// A replica in the store is read in blocks, a few of them kept: the MP4
// scanner reads a small window at every box and http.ServeContent reads
// 32 KiB at a time, and neither may cost a request per read. Each block
// is one ranged request, until a third block in a row is wanted: the
// reader goes through the file (a download, a parent's fetch, a scan of
// fragments smaller than a block), so one body is opened from there to
// the object's end and the next blocks are read from it. A whole file
// costs three requests; a short range (an HLS segment) one or two, and
// never a body left half read.
const (
	storeBlock  = 1 << 20
	storeBlocks = 4 // kept per open file, least recently used dropped
)

var blockPool = sync.Pool{New: func() any { b := make([]byte, storeBlock); return &b }}

// storeFile is a File over an object of the store.
type storeFile struct {
	store   objstore.Store
	key     string
	info    fileInfo
	timeout time.Duration

	mu     sync.Mutex
	pos    int64    // of Read and Seek
	blocks []*block // most recently used first
	seq    *stream  // open body yielding the blocks after the last one read from it
	last   int64    // the block fetched last; -1: none
	run    int      // blocks fetched in a row up to last
	closed bool
}

type block struct {
	n   int64
	buf *[]byte
	b   []byte // the block's bytes (shorter for the last block)
}

// stream is one ranged body read block by block.
type stream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	next   int64 // the block its next bytes belong to
}

func newStoreFile(s objstore.Store, key, name string, size int64, mod time.Time, timeout time.Duration) *storeFile {
	return &storeFile{store: s, key: key, timeout: timeout, last: -1,
		info: fileInfo{name: name, size: size, mode: FileMode, mod: mod}}
}

func (f *storeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *storeFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readAt(p, off)
}

func (f *storeFile) readAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, fs.ErrClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("read %s at %d: negative offset", f.info.name, off)
	}
	n := 0
	for n < len(p) && off+int64(n) < f.info.size {
		at := off + int64(n)
		b, err := f.block(at / storeBlock)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b.b[at-b.n*storeBlock:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *storeFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	if f.pos >= f.info.size {
		return 0, io.EOF
	}
	if rem := f.info.size - f.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := f.readAt(p, f.pos)
	f.pos += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

func (f *storeFile) Seek(off int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += f.pos
	case io.SeekEnd:
		off += f.info.size
	default:
		return f.pos, fmt.Errorf("seek %s: bad whence %d", f.info.name, whence)
	}
	if off < 0 {
		return f.pos, fmt.Errorf("seek %s to %d: before the start", f.info.name, off)
	}
	f.pos = off
	return off, nil
}

func (f *storeFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	f.closeStream()
	for _, b := range f.blocks {
		blockPool.Put(b.buf)
	}
	f.blocks = nil
	return nil
}

// block returns block n, from the cache or the store.
func (f *storeFile) block(n int64) (*block, error) {
	for i, b := range f.blocks {
		if b.n == n {
			copy(f.blocks[1:i+1], f.blocks[:i])
			f.blocks[0] = b
			return b, nil
		}
	}
	buf := blockPool.Get().(*[]byte)
	start := n * storeBlock
	b := &block{n: n, buf: buf, b: (*buf)[:min(storeBlock, f.info.size-start)]}
	if err := f.fetch(b); err != nil {
		blockPool.Put(buf)
		return nil, err
	}
	if len(f.blocks) == storeBlocks {
		blockPool.Put(f.blocks[storeBlocks-1].buf)
		f.blocks = f.blocks[:storeBlocks-1]
	}
	f.blocks = append([]*block{b}, f.blocks...)
	return b, nil
}

// fetch fills b: from the open stream when it is there, from a new
// stream when b follows two blocks fetched in a row (the reader goes
// through the file), else by one ranged request.
func (f *storeFile) fetch(b *block) error {
	next := b.n == f.last+1
	defer func() {
		if f.last = b.n; next {
			f.run++
		} else {
			f.run = 1
		}
	}()
	start := b.n * storeBlock
	if f.seq != nil && f.seq.next == b.n {
		err := f.bounded(f.seq.cancel, func() error { _, err := io.ReadFull(f.seq.body, b.b); return err })
		if err == nil {
			f.seq.next++
			return nil
		}
		// a body broken or timed out: a fresh request below
		f.closeStream()
	}
	if next && f.run >= 2 && start+int64(len(b.b)) < f.info.size {
		f.closeStream()
		ctx, cancel := context.WithCancel(context.Background())
		var body io.ReadCloser
		err := f.bounded(cancel, func() error {
			var err error
			if body, err = f.store.Open(ctx, f.key, start, -1); err != nil {
				return err
			}
			_, err = io.ReadFull(body, b.b)
			return err
		})
		if err != nil {
			if body != nil {
				body.Close()
			}
			cancel()
			return f.readErr(start, err)
		}
		f.seq = &stream{body: body, cancel: cancel, next: b.n + 1}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := f.bounded(cancel, func() error {
		body, err := f.store.Open(ctx, f.key, start, int64(len(b.b)))
		if err != nil {
			return err
		}
		defer body.Close()
		_, err = io.ReadFull(body, b.b)
		return err
	})
	if err != nil {
		return f.readErr(start, err)
	}
	return nil
}

// bounded runs fn, cancelling its request if it takes longer than the
// timeout: a stream lives across many reads, so its context cannot carry
// one deadline.
func (f *storeFile) bounded(cancel context.CancelFunc, fn func() error) error {
	t := time.AfterFunc(f.timeout, cancel)
	err := fn()
	if !t.Stop() && err != nil {
		err = fmt.Errorf("%w (no answer within %v)", err, f.timeout)
	}
	return err
}

func (f *storeFile) readErr(off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("the object ends before its %d bytes: %w", f.info.size, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read archive file %s at %d: %w", f.info.name, off, storeErr(f.store, "read", f.key, err))
}

func (f *storeFile) closeStream() {
	if f.seq == nil {
		return
	}
	f.seq.cancel()
	f.seq.body.Close()
	f.seq = nil
}

// fileInfo describes a file or directory the archive holds in its store.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
