package objstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Neither way of moving a file replaces one.
func TestRenameNoReplace(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	_ = os.WriteFile(a, []byte("new"), 0o644)
	_ = os.WriteFile(b, []byte("old"), 0o644)
	for name, mv := range map[string]func(string, string) error{"RenameNoReplace": RenameNoReplace, "linkUnlink": linkUnlink} {
		if err := mv(a, b); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("%s over an existing file: %v", name, err)
		}
		if got, _ := os.ReadFile(b); string(got) != "old" {
			t.Fatalf("%s replaced the file", name)
		}
	}
	c := filepath.Join(dir, "c")
	if err := RenameNoReplace(a, c); err != nil {
		t.Fatal(err)
	}
	noFile(t, a)
	if err := linkUnlink(c, a); err != nil {
		t.Fatal(err)
	}
	noFile(t, c)
}

func noFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (%v)", p, err)
	}
}
