package plugin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Segment is one recorded file of a camera.
type Segment struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Path  string    `json:"path"` // for OpenFile
	Bytes int64     `json:"bytes"`
}

// Archive lists the segments of a granted camera between from and to.
func (c *Client) Archive(ctx context.Context, camera string, from, to time.Time) ([]Segment, error) {
	q := url.Values{
		"camera": {camera},
		"from":   {from.UTC().Format(time.RFC3339Nano)},
		"to":     {to.UTC().Format(time.RFC3339Nano)},
	}
	var segs []Segment
	if err := c.getJSON(ctx, "/v1/archive?"+q.Encode(), &segs); err != nil {
		return nil, err
	}
	return segs, nil
}

// OpenFile reads a segment file by the Path of its Segment. The caller
// closes it.
func (c *Client) OpenFile(ctx context.Context, rel string) (io.ReadCloser, error) {
	// Archive paths are relative and clean; anything else is a mistake
	// better caught here than answered 400 by the node.
	if rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("plugin: bad archive path %q", rel)
	}
	parts := strings.Split(rel, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/archive/files/"+strings.Join(parts, "/"), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
