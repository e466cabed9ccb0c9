package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Pixel formats of frames.
const (
	FormatGray  = "gray"  // 8-bit luma
	FormatRGB24 = "rgb24" // R, G, B bytes
)

// Bounds on what the frame reader accepts. Real frames are far smaller
// (the node scales them to the plugin's frames.width × frames.height); the
// bounds keep a corrupt stream from costing more than that.
const (
	MaxHeaderBytes = 4 << 10
	MaxFrameBytes  = 64 << 20
)

// Frame is one decoded picture of a camera.
type Frame struct {
	Camera  string
	Time    time.Time
	Width   int
	Height  int
	Format  string // FormatGray or FormatRGB24
	Seq     uint64 // frames sent on this stream so far
	Dropped uint64 // frames the node decoded but skipped because the plugin was behind
	Pix     []byte // rows of Width × Height × BytesPerPixel
}

// bytesPerPixel of a format, 0 if unknown.
func bytesPerPixel(format string) int {
	switch format {
	case FormatGray:
		return 1
	case FormatRGB24:
		return 3
	}
	return 0
}

// ok tells whether Pix holds exactly the frame's pixels.
func (f Frame) ok() bool {
	bpp := bytesPerPixel(f.Format)
	return bpp > 0 && f.Width > 0 && f.Height > 0 && len(f.Pix) == f.Width*f.Height*bpp
}

// Gray returns the picture in gray: the frame's own pixels (not a copy)
// for a gray frame, the luma (BT.601) of an rgb24 one. It returns nil if
// Pix does not match the frame's size and format.
func (f Frame) Gray() *image.Gray {
	if !f.ok() {
		return nil
	}
	r := image.Rect(0, 0, f.Width, f.Height)
	if f.Format == FormatGray {
		return &image.Gray{Pix: f.Pix, Stride: f.Width, Rect: r}
	}
	g := image.NewGray(r)
	for i := range g.Pix {
		p := f.Pix[3*i : 3*i+3]
		// The weights of color.GrayModel, in integers.
		g.Pix[i] = uint8((19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16)
	}
	return g
}

// RGBA returns a copy of the picture in colour (R = G = B for a gray
// frame). It returns nil if Pix does not match the frame's size and
// format.
func (f Frame) RGBA() *image.RGBA {
	if !f.ok() {
		return nil
	}
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	n := f.Width * f.Height
	for i := range n {
		d := img.Pix[4*i : 4*i+4]
		if f.Format == FormatGray {
			v := f.Pix[i]
			d[0], d[1], d[2] = v, v, v
		} else {
			d[0], d[1], d[2] = f.Pix[3*i], f.Pix[3*i+1], f.Pix[3*i+2]
		}
		d[3] = 0xff
	}
	return img
}

// Frames opens the stream of frames of a granted camera. A camera the
// plugin is not granted is answered with an *Error of status 403.
func (c *Client) Frames(ctx context.Context, camera string) (*FrameStream, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/frames?"+url.Values{"camera": {camera}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return newFrameStream(resp.Body), nil
}

// FrameStream reads frames until the node or the caller ends it.
type FrameStream struct {
	body io.Closer
	br   *bufio.Reader
	err  error // once a frame is cut, the stream has lost its place for good
}

func newFrameStream(body io.ReadCloser) *FrameStream {
	return &FrameStream{body: body, br: bufio.NewReaderSize(body, 64<<10)}
}

// header is a frame's header line as the node writes it.
type header struct {
	Camera  string    `json:"camera"`
	Time    time.Time `json:"time"`
	Width   int64     `json:"width"`
	Height  int64     `json:"height"`
	Format  string    `json:"format"`
	Seq     uint64    `json:"seq"`
	Dropped uint64    `json:"dropped"`
	Bytes   int64     `json:"bytes"`
}

// Next returns the next frame; io.EOF when the node ended the stream
// between frames. Any other error (a cut or malformed frame, the
// connection or the context failing) is final: every later call returns
// it again.
func (s *FrameStream) Next() (Frame, error) {
	if s.err != nil {
		return Frame{}, s.err
	}
	f, err := s.next()
	if err != nil {
		s.err = err
		return Frame{}, err
	}
	return f, nil
}

func (s *FrameStream) next() (Frame, error) {
	var line []byte
	for len(line) == 0 { // blank lines carry nothing; let them pass
		var err error
		line, err = readLine(s.br, MaxHeaderBytes)
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		if err != nil {
			return Frame{}, fmt.Errorf("plugin: frame header: %w", err)
		}
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return Frame{}, fmt.Errorf("plugin: frame header: %w", err)
	}
	if err := h.check(); err != nil {
		return Frame{}, fmt.Errorf("plugin: frame %d of %q: %w", h.Seq, h.Camera, err)
	}
	pix, err := readFull(s.br, int(h.Bytes))
	if err != nil {
		return Frame{}, fmt.Errorf("plugin: frame %d of %q cut short: %w", h.Seq, h.Camera, err)
	}
	return Frame{
		Camera: h.Camera, Time: h.Time,
		Width: int(h.Width), Height: int(h.Height), Format: h.Format,
		Seq: h.Seq, Dropped: h.Dropped, Pix: pix,
	}, nil
}

// check holds the header to the protocol before its size is trusted.
func (h header) check() error {
	bpp := int64(bytesPerPixel(h.Format))
	if bpp == 0 {
		return fmt.Errorf("unknown format %q", h.Format)
	}
	// Bounding each side first keeps the product from overflowing.
	if h.Width <= 0 || h.Height <= 0 || h.Width > MaxFrameBytes || h.Height > MaxFrameBytes {
		return fmt.Errorf("bad size %d×%d", h.Width, h.Height)
	}
	want := h.Width * h.Height * bpp
	if want > MaxFrameBytes {
		return fmt.Errorf("%d×%d %s is over %d bytes", h.Width, h.Height, h.Format, MaxFrameBytes)
	}
	if h.Bytes != want {
		return fmt.Errorf("bytes is %d, %d×%d %s takes %d", h.Bytes, h.Width, h.Height, h.Format, want)
	}
	return nil
}

// readFull reads n bytes, growing its buffer as they arrive rather than
// trusting n up front: a header that promises a large frame and a stream
// that ends early cost only what was sent.
func readFull(r io.Reader, n int) ([]byte, error) {
	const step = 1 << 20
	buf := make([]byte, min(n, step))
	off := 0
	for {
		m, err := io.ReadFull(r, buf[off:])
		off += m
		if err == io.EOF { // n > 0: any end here is inside the frame
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("%d of %d bytes: %w", off, n, err)
		}
		if off == n {
			return buf, nil
		}
		grown := make([]byte, min(n, 2*len(buf)))
		copy(grown, buf)
		buf = grown
	}
}

// Close ends the stream and its connection.
func (s *FrameStream) Close() error { return s.body.Close() }
