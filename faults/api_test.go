package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The harness's login on every node (users: in each configuration).
const (
	apiUser     = "faults"
	apiPassword = "faults-harness-password"
)

// client talks to one node's HTTP API as the admin user: it logs in, makes
// itself an API token and sends that; a node that lost its auth.db (a
// wiped replica) answers 401, and the client logs in again.
type client struct {
	base string
	hc   *http.Client

	mu     sync.Mutex
	token  string
	logins int
}

func newClient(addr string) *client {
	return &client{base: "http://" + addr, hc: &http.Client{Timeout: 10 * time.Second}}
}

// errStatus is an answer other than the one wanted.
type errStatus struct {
	code int
	body string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.code, strings.TrimSpace(e.body))
}

func (c *client) login(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"user": apiUser, "password": apiPassword})
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login: %w", &errStatus{resp.StatusCode, string(b)})
	}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(b, &sess); err != nil {
		return "", fmt.Errorf("login: %v", err)
	}
	c.logins++
	body, _ = json.Marshal(map[string]string{"name": fmt.Sprintf("faults-%d-%d", time.Now().UnixNano(), c.logins), "role": "admin"})
	req, _ = http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/auth/tokens", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	for _, ck := range resp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err = c.hc.Do(req)
	if err != nil {
		return "", err
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create API token: %w", &errStatus{resp.StatusCode, string(b)})
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.Token == "" {
		return "", fmt.Errorf("create API token: %q: %v", b, err)
	}
	c.token = tok.Token
	return c.token, nil
}

// get fetches path (with query) into out.
func (c *client) get(ctx context.Context, path string, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.login(ctx)
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.mu.Lock()
			c.token = "" // the node forgot us: a wiped data dir
			c.mu.Unlock()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %w", path, &errStatus{resp.StatusCode, string(b)})
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("GET %s: %v", path, err)
		}
		return nil
	}
}

// Token is the current API token, for `kuzet topology --token`.
func (c *client) Token(ctx context.Context) (string, error) { return c.login(ctx) }

// healthy reports whether /healthz answers (no login needed).
func (c *client) healthy(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/healthz", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ev is an event as the API lists it. It is decoded here rather than into
// event.Event so that the harness reads what any version of the node
// writes (inc is the incarnation of newer nodes; absent, it is 0).
type ev struct {
	Origin   string          `json:"origin"`
	Inc      uint64          `json:"inc,omitempty"`
	Seq      uint64          `json:"seq"`
	Kind     string          `json:"kind"`
	Time     time.Time       `json:"time"`
	Camera   string          `json:"camera,omitempty"`
	Severity string          `json:"severity,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Path     []string        `json:"path,omitempty"`
	Pos      uint64          `json:"pos,omitempty"`
}

func (e ev) ID() string { return fmt.Sprintf("%s/%d", e.Origin, e.Seq) }

// fingerprint is what an event says, apart from where it is held: two
// events with the same origin and seq but different fingerprints are
// different events (a wiped node numbering from 1 again).
func (e ev) fingerprint() string {
	var p bytes.Buffer
	if len(e.Payload) > 0 && json.Compact(&p, e.Payload) != nil {
		p.Reset()
		p.Write(e.Payload)
	}
	return fmt.Sprintf("%s\x00%d\x00%s\x00%d\x00%s\x00%s\x00%s", e.Origin, e.Inc, e.Kind, e.Time.UnixNano(), e.Camera, e.Severity, p.String())
}

// events reads a node's whole log, page by page.
func (c *client) events(ctx context.Context) ([]ev, error) {
	var out []ev
	after := uint64(0)
	for {
		var page []ev
		if err := c.get(ctx, fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), &page); err != nil {
			return out, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, e := range page {
			if e.Pos <= after {
				return out, fmt.Errorf("events after %d: position %d does not advance", after, e.Pos)
			}
			after = e.Pos
		}
		out = append(out, page...)
	}
}

// upstream is a child's view of its link (GET /api/v1/federation).
type upstream struct {
	Parent    string `json:"parent"`
	Address   string `json:"address"`
	Connected bool   `json:"connected"`
	Backlog   uint64 `json:"backlog"`
	LastError string `json:"last_error"`
}

func (c *client) upstream(ctx context.Context) (upstream, error) {
	var st struct {
		Upstream *upstream `json:"upstream"`
	}
	if err := c.get(ctx, "/api/v1/federation", &st); err != nil {
		return upstream{}, err
	}
	if st.Upstream == nil {
		return upstream{}, errors.New("no upstream link in /api/v1/federation")
	}
	return *st.Upstream, nil
}

// segment is an index record (GET /api/v1/cameras/{camera}/segments).
type segment struct {
	Camera   string    `json:"camera"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Path     string    `json:"path"`
	Bytes    int64     `json:"bytes"`
	SHA256   string    `json:"sha256"`
	Repaired bool      `json:"repaired"`
}

func (c *client) segments(ctx context.Context, camera string, from, to time.Time) ([]segment, error) {
	var out []segment
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	err := c.get(ctx, "/api/v1/cameras/"+url.PathEscape(camera)+"/segments?"+q.Encode(), &out)
	return out, err
}

// cameraState is the state of one of the node's cameras.
func (c *client) cameraState(ctx context.Context, id string) (string, error) {
	var cams []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := c.get(ctx, "/api/v1/cameras", &cams); err != nil {
		return "", err
	}
	for _, cam := range cams {
		if cam.ID == id {
			return cam.State, nil
		}
	}
	return "", fmt.Errorf("no camera %s", id)
}

// raftLeader is the leader the node's catalogue replica knows ("" none).
func (c *client) raftLeader(ctx context.Context) (string, error) {
	var st struct {
		Leader string `json:"leader"`
	}
	err := c.get(ctx, "/api/v1/topology/status", &st)
	return st.Leader, err
}
