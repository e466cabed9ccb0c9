package boltfile

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func fill(t *testing.T, path string, n int, keepEvery int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 1000)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if keepEvery == 0 {
		return
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range n {
			if i%keepEvery != 0 {
				if err := b.Delete(binary.BigEndian.AppendUint64(nil, uint64(i))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(func(tx *bolt.Tx) error { n = tx.Bucket([]byte("b")).Stats().KeyN; return nil })
	return n
}

// A file mostly emptied by deletes is rewritten smaller with every key;
// a full one, and one under the minimum size, are left alone; a
// temporary file left by a crash is removed.
func TestCompactIfSparse(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.db")
	fill(t, sparse, 20000, 10)
	if err := os.WriteFile(sparse+".compact", []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := CompactIfSparse(sparse, 1<<40); ok || err != nil {
		t.Fatalf("a file under the minimum size was compacted: %v", err)
	}
	if _, err := os.Stat(sparse + ".compact"); !os.IsNotExist(err) {
		t.Fatal("the left-over temporary file is still there")
	}
	c, ok, err := CompactIfSparse(sparse, 0)
	if err != nil || !ok || c.After*4 > c.Before {
		t.Fatalf("sparse file: %+v %v %v", c, ok, err)
	}
	if n := count(t, sparse); n != 2000 {
		t.Fatalf("%d keys after compaction, want 2000", n)
	}
	full := filepath.Join(dir, "full.db")
	fill(t, full, 20000, 0)
	if _, ok, err := CompactIfSparse(full, 0); ok || err != nil {
		t.Fatalf("a full file was compacted: %v", err)
	}
	if _, ok, err := CompactIfSparse(filepath.Join(dir, "absent.db"), 0); ok || err != nil {
		t.Fatalf("an absent file: %v %v", ok, err)
	}
}
