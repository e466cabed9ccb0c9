package archive

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// ReplicaEntries lists directory dir of the replicas (archive-relative,
// slash-separated: ".replicas", ".replicas/<origin>", ... down to an hour's
// directory) as the index holds it, for readers that browse the archive
// (SFTP) while its replicas are in Options.Store and no longer all on the
// local disk. dir "." yields ".replicas" itself when any replica is
// indexed. Sizes and times are the index's (a file's time is its
// segment's end); nothing is asked of the store. Without a store it lists
// nothing: the local disk holds every replica.
func (a *Archive) ReplicaEntries(dir string) ([]fs.FileInfo, error) {
	if a.o.Store == nil {
		return nil, nil
	}
	dir = path.Clean(dir)
	rest, ok := strings.CutPrefix(dir, ReplicaDir)
	if dir != "." && (!ok || rest != "" && rest[0] != '/') {
		return nil, nil
	}
	cams, err := a.index.Cameras()
	if err != nil {
		return nil, err
	}
	ents := map[string]fileInfo{}
	add := func(name string, mode fs.FileMode, size int64, mod time.Time) {
		e, seen := ents[name]
		if !seen || mod.After(e.mod) {
			e.mod = mod
		}
		e.name, e.mode, e.size = name, mode, size
		ents[name] = e
	}
	dirMode := fs.ModeDir | DirMode
	var els []string
	if dir != "." && rest != "" {
		els = strings.Split(rest[1:], "/")
	}
	if dir == "." || len(els) < 2 {
		// origins, or one origin's cameras: a replica's camera key is
		// "<origin>/<Camera>"
		for _, key := range cams {
			origin, cam, ok := strings.Cut(key, "/")
			if !ok || len(els) == 1 && origin != els[0] {
				continue
			}
			last, found, err := a.index.LastSegment(key)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			switch {
			case dir == ".":
				add(ReplicaDir, dirMode, 0, last.End)
			case len(els) == 0:
				add(origin, dirMode, 0, last.End)
			default:
				add(cam, dirMode, 0, last.End)
			}
		}
		return sorted(ents), nil
	}
	// below a camera: its segments, narrowed to the year, month, day or
	// hour the directory names (laid out in the origin's zone)
	var from, to time.Time
	if t, span, ok := layoutSpan(els[2:]); ok {
		from, to = t.Add(-zoneSpan), t.Add(span+zoneSpan)
	}
	segs, err := a.index.Segments(els[0]+"/"+els[1], from, to)
	if err != nil {
		return nil, err
	}
	prefix := dir + "/"
	for _, s := range segs {
		rest, ok := strings.CutPrefix(s.Path, prefix)
		if !ok {
			continue
		}
		if name, _, sub := strings.Cut(rest, "/"); sub {
			add(name, dirMode, 0, s.End)
		} else {
			add(name, FileMode, s.Bytes, s.End)
		}
	}
	return sorted(ents), nil
}

func sorted(ents map[string]fileInfo) []fs.FileInfo {
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
