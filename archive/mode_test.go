package archive

import (
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testGroup is a group the test may give files to: another group when
// the test can (root, or a member of several), else its own.
func testGroup(t *testing.T) (name string, gid int) {
	t.Helper()
	pick := os.Getgid()
	if os.Geteuid() == 0 {
		if g, err := user.LookupGroup("daemon"); err == nil {
			pick, _ = strconv.Atoi(g.Gid)
		}
	} else if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			if g != os.Getgid() {
				pick = g
				break
			}
		}
	}
	g, err := user.LookupGroupId(strconv.Itoa(pick))
	if err != nil {
		t.Skipf("no name for group %d: %v", pick, err)
	}
	return g.Name, pick
}

// checkModes checks the permission bits and group of everything under
// root but what skip names, and counts what it checked.
func checkModes(t *testing.T, root string, gid int, skip func(path string) bool) (files, dirs int) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip(p) {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		want := fs.FileMode(0o640)
		if st.IsDir() {
			want = 0o750
			dirs++
		} else {
			files++
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
		if g := int(st.Sys().(*syscall.Stat_t).Gid); g != gid {
			t.Errorf("%s: group %d, want %d", p, g, gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, dirs
}

// Issue 14, part 7: archive files are 0640 and directories 0750, in the
// archive's group (archive.group, else the process's), recordings and
// replicas alike; an archive written with the old modes keeps working,
// and its root closes to others at once.
func TestArchiveModesAndGroup(t *testing.T) {
	dir := t.TempDir()
	o := Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db"), Segment: 10 * time.Second}

	// without a group: the process's
	a, _ := openTestArchive(t, o)
	start := time.Date(2025, 8, 18, 13, 59, 50, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 5*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if files, dirs := checkModes(t, o.Root, os.Getgid(), func(string) bool { return false }); files != 1 || dirs != 6 {
		t.Fatalf("%d files and %d directories", files, dirs)
	}
	old := mustSegments(t, a, "Camera1")
	_ = a.Close()

	// what an older version left: readable by anyone
	if err := filepath.WalkDir(o.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	name, gid := testGroup(t)
	o.Group = name
	a, _ = openTestArchive(t, o)
	if st, _ := os.Stat(o.Root); st.Mode().Perm() != 0o750 || int(st.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("root after reopening: %v, group %d; want 0750 and %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, gid)
	}
	f = newFeeder(t, start.Add(20*time.Second)) // 14:00:10: a new hour directory
	r = a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 5*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	s, b := replicaOf("Camera3", start, 4096)
	mustImport(t, a, "site-7", s, b) // its part was written 0644, as a fetch may

	// the new hour with its file, and the replica with its directories
	none := func(string) bool { return false }
	if files, dirs := checkModes(t, filepath.Join(o.Root, "Camera1", "2025", "08", "18", "14"), gid, none); files != 1 || dirs != 1 {
		t.Errorf("new hour: %d files and %d directories", files, dirs)
	}
	if files, dirs := checkModes(t, filepath.Join(o.Root, ReplicaDir), gid, none); files != 1 || dirs != 7 {
		t.Errorf("replicas: %d files and %d directories", files, dirs)
	}

	// the old recording keeps working
	p, err := a.File(self, self, old[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, fh)
	fh.Close()
	if err != nil || n != old[0].Bytes {
		t.Fatalf("reading the old recording: %d bytes, %v", n, err)
	}
	if pr := ffprobeFile(t, p); !pr.FirstKey {
		t.Errorf("old recording: %+v", pr)
	}

	o.Group = "no-such-group-kuzet"
	o.Root, o.IndexPath = filepath.Join(dir, "other"), filepath.Join(dir, "other.db")
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "archive.group") || !strings.Contains(err.Error(), "no-such-group-kuzet") {
		t.Errorf("unknown group: %v", err)
	}
}
