package topology

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"hash/crc64"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/kuzet/kuzet/internal/testkit"
)

func testKey(t *testing.T) *SecretKey {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	k, err := NewSecretKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// grepDir names the files under dir that hold any of secrets.
func grepDir(t *testing.T, dir string, secrets ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				hits = append(hits, p+" holds "+s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// The node key: made on first use with mode 0600, the same key after, and
// refused when others can read it or it is not a key.
func TestNodeKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFile)
	k, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil || again.id != k.id {
		t.Fatalf("reloaded key differs: %v", err)
	}
	sealed := k.Seal([]byte(`{"url":"rtsp://u:pw@h/"}`), "test")
	if !IsSealed(sealed) || bytes.Contains(sealed, []byte("pw@")) {
		t.Fatalf("sealed: %q", sealed)
	}
	if plain, err := again.Open(sealed, "test"); err != nil || string(plain) != `{"url":"rtsp://u:pw@h/"}` {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := k.Open(sealed, "other purpose"); err == nil {
		t.Fatal("opened for another purpose")
	}
	if _, err := testKey(t).Open(sealed, "test"); err == nil || !strings.Contains(err.Error(), "another node key") {
		t.Fatalf("another key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("key readable by others: %v", err)
	}
	_ = os.Chmod(path, 0o600)
	_ = os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "want 32 bytes") {
		t.Fatalf("bad key: %v", err)
	}
}

// camJSON reads one camera as the API shows it.
func camJSON(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m
}

// Camera passwords are write-only in the API (every read
// shows the URL without them and password_set), a put without one keeps
// the stored one, and only the slice sent down a link carries them. On
// disk the Raft log and snapshots hold them sealed; a restart reads them
// back.
func TestCameraPasswordsWriteOnly(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	r := startReplica(t, pki, "centre", dir, func(o *Options) { o.Bootstrap = true })
	waitLeader(t, r)
	api := serveAPI(t, r, HandlerOptions{}).URL + APIPath
	do := caller(t, api)
	do("POST", "/nodes", `{"id":"centre","role":"centre"}`, 200)
	do("POST", "/nodes", `{"id":"khorgos-1","role":"site","parent":"centre"}`, 200)
	do("POST", "/zones", `{"id":"lane-1","site":"khorgos-1"}`, 200)
	do("POST", "/zones", `{"id":"lane-2","site":"khorgos-1"}`, 200)
	const pw, pw2 = "s3cret-Pw", "n3w-s3cret"
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://viewer:`+pw+`@10.0.0.5:554/ch1","zone":"lane-1"}`, 200)
	stored := func() string {
		c, _ := r.Catalogue().Camera("khorgos-1", "Gate1")
		return c.URL
	}
	if stored() != "rtsp://viewer:"+pw+"@10.0.0.5:554/ch1" {
		t.Fatalf("stored %q", stored())
	}

	reads := []string{"/cameras", "/cameras/khorgos-1", "/cameras/khorgos-1/Gate1", "/catalogue", "/slices/khorgos-1", "/",
		"/cameras?consistent=true", "/catalogue?consistent=true"}
	for _, p := range reads {
		if raw := do("GET", p, "", 200); strings.Contains(raw, pw) {
			t.Errorf("GET %s shows the password: %s", p, raw)
		}
	}
	cam := camJSON(t, do("GET", "/cameras/khorgos-1/Gate1", "", 200))
	if cam["url"] != "rtsp://viewer@10.0.0.5:554/ch1" || cam["password_set"] != true {
		t.Fatalf("camera as read: %v", cam)
	}
	var sl struct{ Cameras []map[string]any }
	_ = json.Unmarshal([]byte(do("GET", "/slices/khorgos-1", "", 200)), &sl)
	if len(sl.Cameras) != 1 || sl.Cameras[0]["password_set"] != true {
		t.Fatalf("slice as read: %+v", sl)
	}
	// what goes down the link to the site carries it
	if s, _ := r.SliceFor("khorgos-1"); s.Cameras[0].URL != stored() || s.Cameras[0].PasswordSet != nil {
		t.Fatalf("slice for the site: %+v", s.Cameras)
	}

	// read, edit, put back: the password stays
	cam["zone"] = "lane-2"
	b, _ := json.Marshal(cam)
	do("POST", "/cameras", string(b), 200)
	if c, _ := r.Catalogue().Camera("khorgos-1", "Gate1"); c.URL != "rtsp://viewer:"+pw+"@10.0.0.5:554/ch1" || c.Zone != "lane-2" || c.PasswordSet != nil {
		t.Fatalf("after a put without the password: %+v", c)
	}
	// without password_set at all, the same
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://viewer@10.0.0.6:554/ch1"}`, 200)
	if stored() != "rtsp://viewer:"+pw+"@10.0.0.6:554/ch1" {
		t.Fatalf("after moving the camera: %q", stored())
	}
	// a new password replaces it
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://viewer:`+pw2+`@10.0.0.6:554/ch1"}`, 200)
	if stored() != "rtsp://viewer:"+pw2+"@10.0.0.6:554/ch1" {
		t.Fatalf("after a new password: %q", stored())
	}
	// refused: a password with password_set false; password_set without a
	// user, or with nothing stored to keep
	for _, bad := range []struct{ body, want string }{
		{`{"id":"Gate1","site":"khorgos-1","url":"rtsp://viewer:x@10.0.0.6/ch1","password_set":false}`, "password_set is false"},
		{`{"id":"Gate1","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","password_set":true}`, "needs the user name"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://viewer@10.0.0.7/ch1","password_set":true}`, "no password is stored"},
	} {
		if raw := do("POST", "/cameras", bad.body, 400); !strings.Contains(raw, bad.want) || strings.Contains(raw, pw2) {
			t.Errorf("put %s: %s, want %q", bad.body, raw, bad.want)
		}
	}

	// every file of the replica: the passwords only sealed, in the log
	// and in a snapshot, which a restart reads back
	do("POST", "/snapshot", "", 200)
	do("POST", "/cameras", `{"id":"Gate3","site":"khorgos-1","url":"rtsp://op:after-snap-pw@10.0.0.8/ch1"}`, 200)
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot taken")
	}
	r.Close()
	if hits := grepDir(t, dir, pw, pw2, "after-snap-pw", "10.0.0.6"); len(hits) > 0 {
		t.Errorf("in clear on disk: %v", hits)
	}
	r2 := startReplica(t, pki, "centre", dir, nil)
	waitLeader(t, r2)
	testkit.WaitFor(t, 10*time.Second, "the log replayed", func() bool {
		c, ok := r2.Catalogue().Camera("khorgos-1", "Gate3")
		return ok && c.URL == "rtsp://op:after-snap-pw@10.0.0.8/ch1"
	})
	if c, _ := r2.Catalogue().Camera("khorgos-1", "Gate1"); c.URL != "rtsp://viewer:"+pw2+"@10.0.0.6:554/ch1" {
		t.Fatalf("after a restart: %q", c.URL)
	}

	// removing it: password_set false, or a URL without a user
	do = caller(t, serveAPI(t, r2, HandlerOptions{}).URL+APIPath) // the restarted replica's API
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://viewer@10.0.0.6:554/ch1","password_set":false}`, 200)
	if c, _ := r2.Catalogue().Camera("khorgos-1", "Gate1"); c.URL != "rtsp://viewer@10.0.0.6:554/ch1" {
		t.Fatalf("after password_set false: %q", c.URL)
	}
	if m := camJSON(t, do("GET", "/cameras/khorgos-1/Gate1", "", 200)); m["password_set"] != false {
		t.Fatalf("read after removal: %v", m)
	}
	do("POST", "/cameras", `{"id":"Gate3","site":"khorgos-1","url":"rtsp://10.0.0.8/ch1"}`, 200)
	if c, _ := r2.Catalogue().Camera("khorgos-1", "Gate3"); c.URL != "rtsp://10.0.0.8/ch1" {
		t.Fatalf("after a URL without a user: %q", c.URL)
	}
}

// A v3 command (written before reads hid passwords) stores the URL as
// given, as v3 replicas did, so a log replays the same everywhere.
func TestV3CameraPutStoresURLAsGiven(t *testing.T) {
	c := sample(t)
	cmd, err := DecodeCommand([]byte(`{"v":3,"type":"put_camera","camera":{"id":"Camera1","site":"khorgos-1","url":"rtsp://user@10.0.0.5:554/ch1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Camera("khorgos-1", "Camera1"); !ok {
		t.Fatal("sample lacks khorgos-1/Camera1")
	}
	nc, err := c.apply(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := nc.Camera("khorgos-1", "Camera1"); got.URL != "rtsp://user@10.0.0.5:554/ch1" {
		t.Fatalf("v3 put: %q", got.URL)
	}
	b, _ := EncodeCommand(Command{Type: PutCamera, Camera: &Camera{ID: "Camera1", Site: "khorgos-1", URL: "rtsp://user@10.0.0.5:554/ch1"}})
	cmd, _ = DecodeCommand(b)
	nc, _ = c.apply(cmd)
	if got, _ := nc.Camera("khorgos-1", "Camera1"); got.URL != "rtsp://user:secret@10.0.0.5:554/ch1" {
		t.Fatalf("v4 put: %q", got.URL)
	}
}

// Replicas decrypt each other's records: each stores what it gets sealed
// with its own key, from the log and from a snapshot the leader installs
// on a replica that joins after the log was compacted.
func TestReplicasSealWithTheirOwnKeys(t *testing.T) {
	pki := newTestPKI(t)
	dirs := map[string]string{}
	small := func(id string) func(*Options) {
		return func(o *Options) {
			o.Bootstrap = id == "centre-1"
			o.SnapshotThreshold, o.TrailingLogs = 2, 1
			dirs[id] = o.Dir
		}
	}
	var reps []*Replica
	for _, id := range []string{"centre-1", "centre-2"} {
		reps = append(reps, startReplica(t, pki, id, t.TempDir(), small(id)))
	}
	waitLeader(t, reps[0])
	retry(t, "join", func(ctx context.Context) error {
		return reps[0].Join(ctx, Peer{ID: "centre-2", Address: reps[1].Address()})
	})
	leader := waitLeader(t, reps...)
	applyR(t, leader, putNode("centre", RoleCentre, ""))
	applyR(t, leader, putNode("khorgos-1", RoleSite, "centre"))
	const pw = "cluster-s3cret"
	for i := range 5 {
		applyR(t, leader, Command{Type: PutCamera, Camera: &Camera{ID: "Gate" + string(rune('1'+i)), Site: "khorgos-1",
			URL: "rtsp://viewer:" + pw + "@10.0.0.5/ch" + string(rune('1'+i))}})
	}
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	rev := applyR(t, leader, Command{Type: PutCamera, Camera: &Camera{ID: "Gate9", Site: "khorgos-1", URL: "rtsp://viewer:" + pw + "@10.0.0.9/"}})
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// a replica joining now gets the snapshot, then the rest
	late := startReplica(t, pki, "centre-3", t.TempDir(), small("centre-3"))
	retry(t, "join late", func(ctx context.Context) error {
		return leader.Join(ctx, Peer{ID: "centre-3", Address: late.Address()})
	})
	reps = append(reps, late)
	for _, r := range reps {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := r.WaitRevision(ctx, rev)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", r.ID(), err)
		}
		for _, cam := range c.Cameras() {
			if !strings.Contains(cam.URL, ":"+pw+"@") {
				t.Errorf("%s holds %s as %q", r.ID(), cam.Key(), cam.URL)
			}
		}
		if len(c.Cameras()) != 6 {
			t.Errorf("%s holds %d cameras", r.ID(), len(c.Cameras()))
		}
	}
	if snaps, _ := filepath.Glob(filepath.Join(dirs["centre-3"], "snapshots", "*", "state.bin")); len(snaps) == 0 {
		t.Error("centre-3 was not sent a snapshot")
	}
	for _, r := range reps {
		r.Close()
	}
	for id, d := range dirs {
		if hits := grepDir(t, d, pw); len(hits) > 0 {
			t.Errorf("%s: in clear on disk: %v", id, hits)
		}
	}
}

// makeClear turns a replica's sealed files back into what a version
// before sealing wrote: log entries and snapshots in clear.
func makeClear(t *testing.T, dir string, key *SecretKey) {
	t.Helper()
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := store.FirstIndex()
	last, _ := store.LastIndex()
	for i := first; i <= last && first > 0; i++ {
		var l raft.Log
		if store.GetLog(i, &l) != nil || !IsSealed(l.Data) {
			continue
		}
		if l.Data, err = key.Open(l.Data, logPurpose(l.Index)); err != nil {
			t.Fatal(err)
		}
		if err := store.StoreLog(&l); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	states, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	for _, st := range states {
		b, _ := os.ReadFile(st)
		plain, err := key.Open(b, snapshotPurpose)
		if err != nil {
			t.Fatal(err)
		}
		mp := filepath.Join(filepath.Dir(st), "meta.json")
		mb, _ := os.ReadFile(mp)
		var m fileSnapshotMeta
		if err := json.Unmarshal(mb, &m); err != nil {
			t.Fatal(err)
		}
		h := crc64.New(crc64.MakeTable(crc64.ECMA))
		h.Write(plain)
		m.Size, m.CRC = int64(len(plain)), h.Sum(nil)
		mb, _ = json.Marshal(&m)
		_ = os.WriteFile(st, plain, 0o600)
		_ = os.WriteFile(mp, mb, 0o600)
	}
}

// A replica whose files an older version wrote in clear seals them when
// it starts, its snapshots too even when a conversion was cut short by a
// crash, and reads them back.
func TestClearFilesOfAnOlderVersionAreSealed(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	key := testKey(t)
	withKey := func(o *Options) { o.Key = key }
	r := startReplica(t, pki, "centre", dir, func(o *Options) { o.Bootstrap = true; o.Key = key })
	waitLeader(t, r)
	const pw = "older-s3cret"
	applyR(t, r, putNode("centre", RoleCentre, ""))
	applyR(t, r, putNode("khorgos-1", RoleSite, "centre"))
	applyR(t, r, Command{Type: PutCamera, Camera: &Camera{ID: "Gate1", Site: "khorgos-1", URL: "rtsp://viewer:" + pw + "@10.0.0.5/"}})
	if err := r.Snapshot(); err != nil {
		t.Fatal(err)
	}
	applyR(t, r, Command{Type: PutCamera, Camera: &Camera{ID: "Gate2", Site: "khorgos-1", URL: "rtsp://viewer:" + pw + "@10.0.0.6/"}})
	r.Close()
	makeClear(t, dir, key)
	if hits := grepDir(t, dir, pw); len(hits) < 2 {
		t.Fatalf("the clear files were not made: %v", hits)
	}
	// a crash after the sealed snapshot state and meta were written, before
	// they replaced the clear ones
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := sealSnapshots(crashed, key, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	states, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	for _, st := range states {
		rel, _ := filepath.Rel(dir, st)
		sealedState := filepath.Join(crashed, rel)
		sealedMeta := filepath.Join(filepath.Dir(sealedState), "meta.json")
		copyFile(t, sealedState, st+".seal")
		copyFile(t, sealedMeta, filepath.Join(filepath.Dir(st), "meta.json.seal"))
	}

	r2 := startReplica(t, pki, "centre", dir, withKey)
	waitLeader(t, r2)
	testkit.WaitFor(t, 10*time.Second, "the catalogue back", func() bool {
		c1, ok1 := r2.Catalogue().Camera("khorgos-1", "Gate1")
		c2, ok2 := r2.Catalogue().Camera("khorgos-1", "Gate2")
		return ok1 && ok2 && strings.Contains(c1.URL, pw) && strings.Contains(c2.URL, pw)
	})
	r2.Close()
	if hits := grepDir(t, dir, pw); len(hits) > 0 {
		t.Errorf("still in clear: %v", hits)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The audit entry of a change says which fields it changes, old → new,
// and what it does to secrets without showing them.
func TestDescribeChange(t *testing.T) {
	c := sample(t)
	for _, tc := range []struct {
		method, path, body string
		want               []string
	}{
		{"POST", "/cameras", `{"id":"Camera1","site":"khorgos-1","url":"rtsp://user@10.0.0.5:554/ch1","zone":"lane-1","analytics":{"anpr":{"enabled":true,"fps":8}}}`,
			[]string{"put camera khorgos-1/Camera1: analytics.anpr.fps: 5 → 8"}},
		{"POST", "/cameras", `{"id":"Camera1","site":"khorgos-1","url":"rtsp://user:other@10.0.0.5:554/ch1","zone":"lane-1","analytics":{"anpr":{"enabled":true,"fps":5}}}`,
			[]string{"put camera khorgos-1/Camera1: password: changed"}},
		{"POST", "/cameras", `{"id":"Camera1","site":"khorgos-1","url":"rtsp://user@10.0.0.5:554/ch1","password_set":false,"zone":"lane-1","analytics":{"anpr":{"enabled":true,"fps":5}}}`,
			[]string{"password: removed"}},
		{"POST", "/cameras", `{"id":"Gate7","site":"khorgos-1","url":"rtsp://op:topsecret@10.0.0.7/ch1"}`,
			[]string{"put camera khorgos-1/Gate7 (new): ", `url="rtsp://op@10.0.0.7/ch1"`, `transport="tcp"`, "password: set"}},
		{"POST", "/users", `{"name":"olga","role":"operator","password_hash":"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"}`,
			[]string{"put user olga (new): ", `role="operator"`, "password_hash: set"}},
		{"DELETE", "/cameras/khorgos-1/Camera1", "", []string{"delete camera khorgos-1/Camera1; it was: ", `url="rtsp://user@10.0.0.5:554/ch1"`}},
		{"POST", "/members", `{"id":"centre-4","address":"10.0.0.4:7444"}`, []string{`join replica "centre-4" at "10.0.0.4:7444"`}},
	} {
		got := DescribeChange(c, tc.method, tc.path, []byte(tc.body))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, w)
			}
		}
		for _, secret := range []string{"secret", "other@", "topsecret", "$argon2id"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s %s shows %q: %s", tc.method, tc.path, secret, got)
			}
		}
	}
}

// An empty catalogue reads as empty lists, not nulls.
func TestRedactedKeepsEmptyLists(t *testing.T) {
	b, _ := json.Marshal(emptyCatalogue().Contents().Redacted())
	if strings.Contains(string(b), "null") {
		t.Fatalf("redacted empty catalogue: %s", b)
	}
}
