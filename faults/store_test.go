package faults

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/archive/objstore/s3test"
)

// TestSharedStoreSurvivesAKilledPuller: the three replicas of region-a
// keep the site's segments in one SeaweedFS bucket. The replica the site
// is linked to is killed while it is in the middle of uploading a file;
// the site fails over, and the replica it reaches carries the upload on
// from the parts already stored instead of starting over. In the end the
// bucket holds every segment the site recorded, once, byte-identical, and
// every replica — the killed one restarted — indexes and serves each.
func TestSharedStoreSurvivesAKilledPuller(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five node processes and SeaweedFS")
	}
	bin := kuzetBinary(t)
	srv := s3test.Start(t)
	srv.Bucket(t, "tier")
	root, err := os.MkdirTemp("", "kuzet-store-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("run directory kept: %s", root)
			return
		}
		os.RemoveAll(root)
	}()
	secret := filepath.Join(root, "s3.secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	store, err := objstore.NewS3(ctx, objstore.S3Options{Endpoint: srv.Endpoint, Bucket: "tier", Prefix: "region-a",
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
	if err != nil {
		t.Fatal(err)
	}

	// a camera at ~16 Mbit/s, 6 s segments (~12 MB: two 5 MiB parts and a
	// tail), pulled at up to 40 Mbit/s: each file takes over two seconds
	// to go up
	c := newClusterWith(t, bin, root, clusterOpts{clip: noisyClip(t, root), siteSegment: "6s", regionCap: 40,
		regionStore: fmt.Sprintf("{type: s3, endpoint: %q, bucket: tier, prefix: region-a, access_key: %s, secret_key_file: %s, part_mb: 5, sync: 1s}",
			srv.Endpoint, s3test.AccessKey, secret)})
	c.setUp(ctx)
	site := c.nodes[siteID]
	time.Sleep(10 * time.Second) // a few files up before the kill

	// the replica the site is linked to, caught with an upload under way
	// (at least one part stored, the file not complete)
	var puller *node
	var upload objstore.UploadInfo
	if !waitFor(90*time.Second, func() bool {
		u, err := site.api.upstream(ctx)
		if err != nil || !u.Connected {
			return false
		}
		puller = c.regionBehind(u.Address)
		upload = objstore.UploadInfo{}
		_ = store.Uploads(ctx, func(in objstore.UploadInfo) error {
			if in.Parts > 0 && in.Stored < in.Size {
				upload = in
			}
			return nil
		})
		return puller != nil && upload.Parts > 0
	}) {
		t.Fatalf("no replica was caught with an upload under way in 90s (last: %v)", puller)
	}
	if err := c.kill(puller); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	rel := strings.TrimPrefix(upload.Key, siteID+"/")
	t.Logf("killed %s uploading %s (%d parts, %d of %d bytes stored)", puller.id, rel, upload.Parts, upload.Stored, upload.Size)

	// the site fails over; recording goes on a little, then the killed
	// replica comes back
	if !waitFor(30*time.Second, func() bool {
		u, err := site.api.upstream(ctx)
		return err == nil && u.Connected && c.regionBehind(u.Address) != puller
	}) {
		t.Fatal("the site did not link to another replica within 30s")
	}
	time.Sleep(6 * time.Second)
	if err := c.startNode(ctx, puller); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-4 * time.Second)

	// every segment the site closed before the cutoff: in the bucket, whole,
	// and indexed by every replica
	var own []segment
	if !waitFor(2*time.Minute, func() bool {
		own, err = site.api.segments(ctx, cameraID, killedAt.Add(-time.Hour), cutoff)
		if err != nil || len(own) == 0 {
			return false
		}
		for _, id := range regionIDs {
			held, err := c.nodes[id].api.segments(ctx, siteID+"/"+cameraID, killedAt.Add(-time.Hour), cutoff)
			if err != nil || len(held) < len(own) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("after 2 minutes the replicas do not all index the site's %d segments", len(own))
	}
	var total int64
	for _, s := range own {
		total += s.Bytes
		key := siteID + "/" + s.Path
		in, err := store.Stat(ctx, key)
		if err != nil || in.Size != s.Bytes || in.SHA256 != s.SHA256 {
			t.Errorf("%s in the bucket: %+v %v; the site recorded %d bytes, sha256 %s", key, in, err, s.Bytes, s.SHA256)
			continue
		}
		body, err := readObject(ctx, store, key)
		if err != nil || sha(body) != s.SHA256 {
			t.Errorf("%s read back from the bucket: %v", key, err)
		}
		for _, id := range regionIDs {
			got, err := c.nodes[id].api.download(ctx, "/api/v1/archive/files/.replicas/"+siteID+"/"+s.Path)
			if err != nil || sha(got) != s.SHA256 {
				t.Errorf("%s served by %s: %d bytes, %v", s.Path, id, len(got), err)
			}
		}
	}
	// once: nothing in the bucket but these, the journal and the uploads
	// still under way (the camera goes on recording)
	objects := 0
	_ = store.List(ctx, siteID+"/", func(objstore.Info) error { objects++; return nil })
	if objects < len(own) {
		t.Errorf("%d objects under %s/ for %d segments", objects, siteID, len(own))
	}

	// the upload under way when the puller died was carried on, not
	// started over
	// and every other byte crossed the site's links once: the replicas
	// that took over found the rest stored (a completed fetch logs the
	// bytes it moved; the killed replica's unfinished part is not logged)
	recorded := map[string]bool{}
	for _, s := range own {
		recorded[s.Path] = true
	}
	resumed, pulled, done := int64(-1), int64(0), 0
	for _, id := range regionIDs {
		for _, l := range storedLines(t, c.root, id) {
			if !recorded[l.Path] {
				continue
			}
			done++
			pulled += l.Bytes - l.ResumedFrom
			if l.Path == rel && l.ResumedFrom > 0 {
				resumed = l.ResumedFrom
			}
		}
	}
	if resumed <= 0 {
		t.Errorf("%s was not resumed from the parts the killed replica stored (no 'fragment stored' line with resumed_from > 0)", rel)
	}
	if pulled != total-max(resumed, 0) {
		t.Errorf("%d bytes pulled for %d bytes recorded (%d resumed): some crossed twice", pulled, total, resumed)
	}
	t.Logf("%d segments, %d bytes; %d fetches done by the three replicas moved %d bytes; %s resumed at byte %d of %d",
		len(own), total, done, pulled, rel, resumed, upload.Size)
}

// noisyClip encodes 4 s of 720p noise at ~16 Mbit/s with ffmpeg: files
// large enough to go up in several parts.
func noisyClip(t *testing.T, dir string) []byte {
	t.Helper()
	out := filepath.Join(dir, "noisy.h264")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25,noise=alls=60:allf=t",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "16M", "-maxrate", "16M", "-bufsize", "4M",
		"-x264-params", "aud=1:keyint=25:min-keyint=25:scenecut=0", "-bsf:v", "h264_mp4toannexb", "-f", "h264", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (apt-get install ffmpeg): %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// regionBehind is the region replica whose site-side relay has address
// addr (nil: none).
func (c *cluster) regionBehind(addr string) *node {
	for _, r := range regionIDs {
		if c.relay[linkName(siteID, r)].Addr() == addr {
			return c.nodes[r]
		}
	}
	return nil
}

func readObject(ctx context.Context, s objstore.Store, key string) ([]byte, error) {
	r, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// storedLine is a puller's "fragment stored" log line.
type storedLine struct {
	Path        string
	Bytes       int64
	ResumedFrom int64
}

var storedRE = regexp.MustCompile(`msg="fragment stored" .*path=(\S+) bytes=(\d+) resumed_from=(-?\d+)`)

// storedLines reads every incarnation's log of node id.
func storedLines(t *testing.T, root, id string) []storedLine {
	logs, _ := filepath.Glob(filepath.Join(root, "logs", id+".*.log"))
	var out []storedLine
	for _, p := range logs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m := storedRE.FindSubmatch(sc.Bytes())
			if m == nil {
				continue
			}
			n, _ := strconv.ParseInt(string(m[2]), 10, 64)
			r, _ := strconv.ParseInt(string(m[3]), 10, 64)
			out = append(out, storedLine{Path: string(m[1]), Bytes: n, ResumedFrom: r})
		}
		f.Close()
	}
	return out
}

// download GETs path as bytes.
func (c *client) download(ctx context.Context, path string) ([]byte, error) {
	tok, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, &errStatus{resp.StatusCode, string(b)}
	}
	return b, err
}
