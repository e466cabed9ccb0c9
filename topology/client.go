package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIPath is where the node serves the catalogue API.
const APIPath = "/api/v1/topology"

// Client talks to a node's catalogue API over HTTP. Errors the API
// reports come back as *Error with their Code.
type Client struct {
	base string
	hc   *http.Client
	// Token is an API token (POST /api/v1/auth/tokens) for nodes that
	// require logins.
	Token string
}

// NewClient makes a client for the node at base (http://host:port; the API
// path is added unless base already has a path). hc nil: a default client.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("node API address %q: use http://host:port", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = APIPath
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), hc: hc}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshotBytes))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &Error{Code: e.Code, Msg: e.Error}
		}
		return fmt.Errorf("%s %s: %s: %s", method, c.base+path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, c.base+path, err)
	}
	return nil
}

func consistentQuery(consistent bool) string {
	if consistent {
		return "?consistent=true"
	}
	return ""
}

// Tree returns the hierarchy; consistent reads it through the leader.
func (c *Client) Tree(ctx context.Context, consistent bool) (Tree, error) {
	var t Tree
	return t, c.do(ctx, http.MethodGet, "/"+consistentQuery(consistent), nil, &t)
}

// Status returns the replica's Raft state and members.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/status", nil, &s)
}

// Catalogue returns every record (without password hashes).
func (c *Client) Catalogue(ctx context.Context, consistent bool) (Contents, error) {
	var ct Contents
	return ct, c.do(ctx, http.MethodGet, "/catalogue"+consistentQuery(consistent), nil, &ct)
}

// Slice returns one node's slice.
func (c *Client) Slice(ctx context.Context, node string) (*Slice, error) {
	var s Slice
	if err := c.do(ctx, http.MethodGet, "/slices/"+url.PathEscape(node), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Camera returns one camera.
func (c *Client) Camera(ctx context.Context, site, id string, consistent bool) (Camera, error) {
	var cam Camera
	return cam, c.do(ctx, http.MethodGet, "/cameras/"+url.PathEscape(site)+"/"+url.PathEscape(id)+consistentQuery(consistent), nil, &cam)
}

// Kinds of record, as the API paths name them.
const (
	KindNodes    = "nodes"
	KindCameras  = "cameras"
	KindZones    = "zones"
	KindUsers    = "users"
	KindPolicies = "policies"
)

// Put upserts one record of kind; create fails with CodeConflict if it
// exists. It returns the change's revision.
func (c *Client) Put(ctx context.Context, kind string, record any, create bool) (uint64, error) {
	q := ""
	if create {
		q = "?create=true"
	}
	var res WriteResult
	err := c.do(ctx, http.MethodPost, "/"+kind+q, record, &res)
	return res.Revision, err
}

// PutNode upserts a node.
func (c *Client) PutNode(ctx context.Context, n Node) (uint64, error) {
	return c.Put(ctx, KindNodes, n, false)
}

// PutCamera upserts a camera.
func (c *Client) PutCamera(ctx context.Context, cam Camera) (uint64, error) {
	return c.Put(ctx, KindCameras, cam, false)
}

// Delete removes a record: id is a node, zone, user or policy node, or
// site/id for a camera.
func (c *Client) Delete(ctx context.Context, kind, id string) (uint64, error) {
	parts := strings.Split(id, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	var res WriteResult
	err := c.do(ctx, http.MethodDelete, "/"+kind+"/"+strings.Join(parts, "/"), nil, &res)
	return res.Revision, err
}

// Join adds a replica.
func (c *Client) Join(ctx context.Context, p Peer) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodPost, "/members", p, &s)
}

// Remove takes a replica out.
func (c *Client) Remove(ctx context.Context, id string) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodDelete, "/members/"+url.PathEscape(id), nil, &s)
}

// Bootstrap founds a new cluster of the node and peers.
func (c *Client) Bootstrap(ctx context.Context, peers []Peer) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodPost, "/bootstrap", map[string][]Peer{"peers": peers}, &s)
}

// Snapshot asks the replica to take a snapshot now.
func (c *Client) Snapshot(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodPost, "/snapshot", nil, &s)
}
