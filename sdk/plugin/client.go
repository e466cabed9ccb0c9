package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Protocol is the version of the plugin protocol this package speaks.
const Protocol = 1

// The environment the node gives a plugin.
const (
	EnvSocket   = "KUZET_PLUGIN_SOCKET"
	EnvName     = "KUZET_PLUGIN_NAME"
	EnvProtocol = "KUZET_PLUGIN_PROTOCOL"
)

// socketURL only fills the request line: the transport always dials the
// plugin's socket, whatever the host says.
const socketURL = "http://kuzet"

// maxJSONBytes bounds the non-streaming answers (hello, archive list,
// error bodies), so a confused peer cannot make the plugin swallow
// gigabytes.
const maxJSONBytes = 32 << 20

// Client talks to the node over the plugin's Unix socket. It is safe for
// concurrent use: each stream holds its own connection.
type Client struct {
	name string
	http *http.Client
	base string // the node's URL: socketURL, or https://host:port of a remote plugin's node
}

// Connect builds a client from the environment the node starts a plugin
// with. It fails if the program was not started by a node, or by one
// speaking another protocol version. Without KUZET_PLUGIN_SOCKET but with
// KUZET_PLUGIN_ADDRESS, it is a remote plugin's client (DialRemote).
func Connect() (*Client, error) {
	sock := os.Getenv(EnvSocket)
	if sock == "" && os.Getenv(EnvListen) != "" {
		r := RemoteFromEnv()
		r.Address = os.Getenv(EnvListen)
		s, err := Listen(r)
		if err != nil {
			return nil, err
		}
		return s.Client, nil
	}
	if sock == "" && os.Getenv(EnvAddress) != "" {
		return DialRemote(RemoteFromEnv())
	}
	if sock == "" {
		return nil, fmt.Errorf("plugin: %s is not set: a plugin is started by a Kuzet node (or set %s for a remote one)", EnvSocket, EnvAddress)
	}
	switch p := os.Getenv(EnvProtocol); p {
	case strconv.Itoa(Protocol):
	case "":
		return nil, fmt.Errorf("plugin: %s is not set: a plugin is started by a Kuzet node", EnvProtocol)
	default:
		return nil, fmt.Errorf("plugin: the node speaks plugin protocol %q, this SDK speaks %d", p, Protocol)
	}
	c := Dial(sock)
	c.name = os.Getenv(EnvName)
	return c, nil
}

// Dial builds a client of the node listening on socket. It does not
// connect until the first request.
func Dial(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// Frames are raw pixels on a local socket: compressing them
		// would only cost CPU on both sides.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{http: &http.Client{Transport: tr}, base: socketURL}
}

// Name is the plugin's name as the node gave it in KUZET_PLUGIN_NAME, or
// as a remote plugin's certificate names it; empty for a client made by
// Dial.
func (c *Client) Name() string { return c.name }

// Hello is what the node grants the plugin.
type Hello struct {
	Protocol int         `json:"protocol"`
	Name     string      `json:"name"`
	Node     string      `json:"node"`
	Cameras  []string    `json:"cameras"` // the cameras whose frames it may read
	Frames   FrameConfig `json:"frames"`
	Events   []string    `json:"events"` // the kinds it may subscribe to
	Limits   Limits      `json:"limits"`
}

// FrameConfig is the most the node sends: frames come at most at FPS,
// scaled to fit Width × Height, in Format.
type FrameConfig struct {
	FPS    float64 `json:"fps"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Format string  `json:"format"`
	// Keyframes: only the camera's keyframes are sent. Every: one frame
	// in that many (0 or 1: all), before the FPS limit.
	Keyframes bool `json:"keyframes,omitempty"`
	Every     int  `json:"every,omitempty"`
}

// Limits are the plugin's resource and posting limits.
type Limits struct {
	MemoryMB        int `json:"memory_mb"`
	Nice            int `json:"nice"`
	EventsPerMinute int `json:"events_per_minute"`
	SnapshotKB      int `json:"snapshot_kb"`
}

// Hello asks the node what the plugin may do.
func (c *Client) Hello(ctx context.Context) (Hello, error) {
	var h Hello
	if err := c.getJSON(ctx, "/v1/hello", &h); err != nil {
		return Hello{}, err
	}
	if h.Protocol != Protocol {
		return Hello{}, fmt.Errorf("plugin: the node speaks plugin protocol %d, this SDK speaks %d", h.Protocol, Protocol)
	}
	return h, nil
}

// do sends a request and turns any answer but 2xx into an *Error, so that
// callers only ever see a body worth reading.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("plugin: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("plugin: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readError(method+" "+path, resp)
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBytes)).Decode(v); err != nil {
		return fmt.Errorf("plugin: GET %s: bad answer: %w", path, err)
	}
	return nil
}
