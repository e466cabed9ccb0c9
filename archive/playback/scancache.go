package playback

import (
	"container/list"
	"io"
	"io/fs"
	"sync"
)

// scanCacheSize bounds the indexes kept: one is a few tens of KiB (a
// 5-minute file of 1-second fragments).
const scanCacheSize = 256

// scanCache keeps the fragment indexes of files scanned lately, keyed by
// path, size and modification time: a closed segment never changes, so
// its index holds until it is removed. Without it every media request
// of an HLS player would scan the whole file again, which for a replica
// in object storage is the whole object fetched per request.
type scanCache struct {
	mu  sync.Mutex
	m   map[scanKey]*list.Element
	lru list.List // of scanEntry, most recent first
}

type scanKey struct {
	rel       string
	size, mod int64
}

type scanEntry struct {
	k  scanKey
	fi *fileIndex
}

// scan indexes the archive file rel opened as f, from the cache when it
// has the file as it is now. Indexes are shared: callers only read them.
func (h *Handler) scan(f io.ReaderAt, rel string, st fs.FileInfo) (*fileIndex, error) {
	k := scanKey{rel: rel, size: st.Size(), mod: st.ModTime().UnixNano()}
	c := &h.scans
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(scanEntry).fi, nil
	}
	c.mu.Unlock()
	fi, err := scanFile(f, st.Size())
	if err != nil || fi.Truncated {
		return fi, err // a file being written: its next scan finds more
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[scanKey]*list.Element{}
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = c.lru.PushFront(scanEntry{k, fi})
		if c.lru.Len() > scanCacheSize {
			old := c.lru.Remove(c.lru.Back()).(scanEntry)
			delete(c.m, old.k)
		}
	}
	return fi, nil
}
