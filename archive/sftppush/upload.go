package sftppush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/replicate"
)

// Writes go out as up to writeConcurrency requests of writePacket bytes
// in flight, issued in file order. If the connection dies, everything
// before the last resumeWindow bytes of the .part was acknowledged by the
// target, and a hole can only lie inside that window; resuming there
// rewrites it, so the finished file has no hole whatever order the target
// applied the writes in.
const (
	writePacket      = 32 << 10
	writeConcurrency = 16
	resumeWindow     = (writeConcurrency + 2) * writePacket
)

// errLocalGone marks a segment deleted (retention) before it was pushed.
var errLocalGone = errors.New("segment file is gone")

// remote is one SSH connection with its SFTP session.
type remote struct {
	ssh  *ssh.Client
	sftp *sftp.Client
	dead chan struct{}
	stop func() bool
	wg   sync.WaitGroup
}

func (r *remote) alive() bool {
	if r == nil {
		return false
	}
	select {
	case <-r.dead:
		return false
	default:
		return true
	}
}

func (r *remote) close() {
	if r == nil {
		return
	}
	r.stop()
	r.sftp.Close()
	r.ssh.Close()
	r.wg.Wait()
}

// dial connects, checks the host key and opens the SFTP session.
func (p *Pusher) dial(ctx context.Context) (*remote, error) {
	d := net.Dialer{Timeout: p.o.Timeout}
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	tc := &timeoutConn{Conn: nc, timeout: p.o.Timeout}
	_ = nc.SetDeadline(time.Now().Add(p.o.Timeout))
	cc, chans, reqs, err := ssh.NewClientConn(tc, p.addr, &ssh.ClientConfig{
		User:              p.o.User,
		Auth:              p.auth,
		HostKeyCallback:   p.host.callback,
		HostKeyAlgorithms: p.host.algorithms(),
		Timeout:           p.o.Timeout,
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	tc.start()
	c := ssh.NewClient(cc, chans, reqs)
	sc, err := sftp.NewClient(c, sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(writeConcurrency), sftp.MaxPacket(writePacket))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("start sftp session: %w", err)
	}
	r := &remote{ssh: c, sftp: sc, dead: make(chan struct{})}
	r.stop = context.AfterFunc(ctx, func() { c.Close() })
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		_ = c.Wait()
		close(r.dead)
	}()
	go func() {
		defer r.wg.Done()
		r.keepalive(p.o.Timeout / 3)
	}()
	p.log.Info("sftp push connected", "target", p.addr, "user", p.o.User)
	return r, nil
}

// keepalive asks the server for an answer now and then, so a dead path
// is noticed (the read deadline expires) even while no file is moving.
func (r *remote) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.dead:
			return
		case <-t.C:
			// the reply, even a refusal, is traffic that extends the deadline
			_, _, _ = r.ssh.SendRequest("keepalive@openssh.com", true, nil)
		}
	}
}

// timeoutConn fails the connection when nothing moves for timeout.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
	on      atomic.Bool
}

func (c *timeoutConn) start() {
	c.on.Store(true)
	_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
}

func (c *timeoutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.on.Load() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	}
	return n, err
}

func (c *timeoutConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 && c.on.Load() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	}
	return n, err
}

// upload copies one segment to the target: into NAME.part, resumed from
// what an earlier attempt left there, size-checked, then renamed to NAME.
func (p *Pusher) upload(ctx context.Context, r *remote, it item) error {
	rel := it.Seg.Path
	if err := event.CheckRel(rel); err != nil {
		return fmt.Errorf("%w: %v", errLocalGone, err)
	}
	f, err := os.Open(filepath.Join(p.o.ArchiveRoot, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", errLocalGone, err)
	}
	if err != nil {
		return fmt.Errorf("open segment %s: %w", rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat segment %s: %w", rel, err)
	}
	size := st.Size()
	if it.Seg.Bytes != 0 && size != it.Seg.Bytes {
		p.log.Warn("sftp push: segment size differs from the index; pushing the file as it is",
			"path", rel, "file_bytes", size, "index_bytes", it.Seg.Bytes)
	}
	sc := r.sftp
	final := path.Join(p.o.Root, rel)
	part := final + ".part"

	if fi, err := sc.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		// pushed before a crash that came ahead of dequeuing it
		if _, err := sc.Stat(part); err == nil {
			_ = sc.Remove(part)
		}
		p.log.Info("sftp push: already on the target", "path", rel, "bytes", size, "event", it.Event)
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s on the target: %w", final, err)
	}

	var from int64
	flags := os.O_WRONLY | os.O_CREATE
	switch fi, err := sc.Stat(part); {
	case err == nil && fi.Size() <= size:
		from = max(0, fi.Size()-resumeWindow)
	case err == nil:
		from = 0 // longer than the file: not ours to continue
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("stat %s on the target: %w", part, err)
	}
	if from == 0 {
		flags |= os.O_TRUNC
	}
	if err := sc.MkdirAll(path.Dir(final)); err != nil {
		return fmt.Errorf("create %s on the target: %w", path.Dir(final), err)
	}
	rf, err := sc.OpenFile(part, flags)
	if err != nil {
		return fmt.Errorf("open %s on the target: %w", part, err)
	}
	defer rf.Close()
	if _, err := rf.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s on the target: %w", part, err)
	}
	start := time.Now()
	src := &countingReader{r: &replicate.LimitedReader{Ctx: ctx, R: io.NewSectionReader(f, from, size-from),
		Limiters: []*replicate.Limiter{p.limiter}}, add: p.m.bytes.Add}
	n, err := rf.ReadFromWithConcurrency(src, writeConcurrency)
	if err != nil {
		return fmt.Errorf("upload %s (resumed from byte %d): %w", part, from, err)
	}
	if n != size-from {
		return fmt.Errorf("upload %s: read %d bytes of the local file, expected %d", part, n, size-from)
	}
	if ext, ok := sc.HasExtension("fsync@openssh.com"); ok && ext == "1" {
		if err := rf.Sync(); err != nil {
			return fmt.Errorf("sync %s on the target: %w", part, err)
		}
	}
	if err := rf.Close(); err != nil {
		return fmt.Errorf("close %s on the target: %w", part, err)
	}
	fi, err := sc.Stat(part)
	if err != nil {
		return fmt.Errorf("stat %s on the target: %w", part, err)
	}
	if fi.Size() != size {
		return fmt.Errorf("%s holds %d bytes on the target after the upload, expected %d", part, fi.Size(), size)
	}
	if err := rename(sc, part, final); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	p.m.files.Inc()
	p.log.Info("sftp push", "path", rel, "bytes", size, "sent", n, "resumed_from", from,
		"seconds", round(secs), "mbit_s", round(float64(n)*8/1e6/max(secs, 1e-6)), "event", it.Event)
	return nil
}

// rename replaces final with part: atomically where the server has the
// OpenSSH posix-rename extension, else by removing final first.
func rename(sc *sftp.Client, part, final string) error {
	if ext, ok := sc.HasExtension("posix-rename@openssh.com"); ok && ext == "1" {
		if err := sc.PosixRename(part, final); err != nil {
			return fmt.Errorf("rename %s to %s on the target: %w", part, final, err)
		}
		return nil
	}
	if err := sc.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace %s on the target: %w", final, err)
	}
	if err := sc.Rename(part, final); err != nil {
		return fmt.Errorf("rename %s to %s on the target: %w", part, final, err)
	}
	return nil
}

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

type countingReader struct {
	r   io.Reader
	add func(float64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.add(float64(n))
	return n, err
}

// Check connects to the target, verifies its host key and that the root
// directory can be created or exists, and disconnects. It is what an
// operator runs after configuring the target.
func (p *Pusher) Check(ctx context.Context) error {
	r, err := p.dial(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", p.addr, err)
	}
	defer r.close()
	if err := r.sftp.MkdirAll(p.o.Root); err != nil {
		return fmt.Errorf("create %s on %s: %w", p.o.Root, p.addr, err)
	}
	fi, err := r.sftp.Stat(p.o.Root)
	if err != nil {
		return fmt.Errorf("stat %s on %s: %w", p.o.Root, p.addr, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s on %s is not a directory", p.o.Root, p.addr)
	}
	return nil
}
