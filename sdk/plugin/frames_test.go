package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveFrames answers /v1/frames for camera Entry with the given bytes,
// written in small pieces so the reader meets every cut, and 403 for any
// other camera.
func serveFrames(t *testing.T, stream []byte) *Client {
	return fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/frames" {
			http.NotFound(w, r)
			return
		}
		if cam := r.URL.Query().Get("camera"); cam != "Entry" {
			writeJSONError(w, http.StatusForbidden, "camera "+cam+" is not granted")
			return
		}
		w.Header().Set("Content-Type", "application/x-kuzet-frames")
		w.WriteHeader(http.StatusOK)
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 7)
			w.Write(rest[:n])
			w.(http.Flusher).Flush()
			rest = rest[n:]
		}
	}))
}

func TestFramesGrayAndRGB(t *testing.T) {
	gray := []byte{0, 50, 100, 150, 200, 250} // 3×2
	rgb := []byte{255, 0, 0, 0, 255, 0}       // 2×1
	var stream []byte
	stream = append(stream, frameBytes("Entry", FormatGray, 3, 2, 1, 0, gray)...)
	stream = append(stream, '\n') // a blank line between frames is let pass
	stream = append(stream, frameBytes("Entry", FormatRGB24, 2, 1, 2, 3, rgb)...)
	c := serveFrames(t, stream)

	fs, err := c.Frames(context.Background(), "Entry")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()

	f, err := fs.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	if f.Camera != "Entry" || !f.Time.Equal(want) || f.Width != 3 || f.Height != 2 || f.Format != FormatGray ||
		f.Seq != 1 || f.Dropped != 0 || !bytes.Equal(f.Pix, gray) {
		t.Fatalf("gray frame: %+v", f)
	}
	if g := f.Gray(); g == nil || !bytes.Equal(g.Pix, gray) || g.Bounds().Dx() != 3 || g.GrayAt(2, 1).Y != 250 {
		t.Errorf("Gray() = %+v", g)
	}
	if c := f.RGBA().RGBAAt(1, 0); c.R != 50 || c.G != 50 || c.B != 50 || c.A != 255 {
		t.Errorf("RGBA() of gray at (1,0) = %v", c)
	}

	f, err = fs.Next()
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatRGB24 || f.Seq != 2 || f.Dropped != 3 || !bytes.Equal(f.Pix, rgb) {
		t.Fatalf("rgb frame: %+v", f)
	}
	if c := f.RGBA().RGBAAt(1, 0); c.R != 0 || c.G != 255 || c.B != 0 || c.A != 255 {
		t.Errorf("RGBA() at (1,0) = %v", c)
	}
	if g := f.Gray(); g.GrayAt(0, 0).Y != 76 || g.GrayAt(1, 0).Y != 150 { // BT.601 luma of red and green
		t.Errorf("Gray() of rgb = %v", g.Pix)
	}

	if _, err := fs.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFramesForbidden(t *testing.T) {
	c := serveFrames(t, nil)
	_, err := c.Frames(context.Background(), "Vault")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Message != "camera Vault is not granted" {
		t.Fatalf("err = %v, want a 403 naming the camera", err)
	}
}

func TestFramesTruncated(t *testing.T) {
	whole := frameBytes("Entry", FormatGray, 10, 10, 1, 0, make([]byte, 100))
	stream := append(append([]byte{}, whole...), whole[:len(whole)-40]...)
	c := serveFrames(t, stream)
	fs, err := c.Frames(context.Background(), "Entry")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if _, err := fs.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = fs.Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "60 of 100 bytes") {
		t.Fatalf("cut frame: %v, want an unexpected EOF after 60 of 100 bytes", err)
	}
	if _, again := fs.Next(); again != err {
		t.Fatalf("after a cut frame: %v, want the same error again", again)
	}
}

func TestFramesOversizedHeader(t *testing.T) {
	// A well-formed header, but padded past the bound: the reader must
	// give up before the newline, not buffer whatever comes.
	hdr := `{"camera": "Entry", "pad": "` + strings.Repeat("x", MaxHeaderBytes) + `", "width": 1, "height": 1, "format": "gray", "bytes": 1}` + "\n"
	c := serveFrames(t, append([]byte(hdr), 0))
	fs, err := c.Frames(context.Background(), "Entry")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if _, err := fs.Next(); err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Fatalf("err = %v, want a header too long", err)
	}
}

func TestFrameHeaderChecks(t *testing.T) {
	for _, tc := range []struct{ name, header, want string }{
		{"bytes mismatch", `{"width": 4, "height": 4, "format": "rgb24", "bytes": 16}`, "4×4 rgb24 takes 48"},
		{"unknown format", `{"width": 4, "height": 4, "format": "yuv420", "bytes": 24}`, `unknown format "yuv420"`},
		{"no format", `{"width": 4, "height": 4, "bytes": 16}`, `unknown format ""`},
		{"zero size", `{"width": 0, "height": 4, "format": "gray", "bytes": 0}`, "bad size 0×4"},
		{"negative", `{"width": -4, "height": -4, "format": "gray", "bytes": 16}`, "bad size"},
		{"over the bound", `{"width": 8192, "height": 8192, "format": "rgb24", "bytes": 201326592}`, "over 67108864 bytes"},
		{"overflowing", `{"width": 9223372036854775807, "height": 9223372036854775807, "format": "rgb24", "bytes": 1}`, "bad size"},
		{"not json", `width=4`, "frame header"},
		{"bad time", `{"time": "yesterday", "width": 1, "height": 1, "format": "gray", "bytes": 1}`, "frame header"},
		{"header cut", `{"width": 1, "height": 1,`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := tc.header
			if !strings.HasPrefix(tc.name, "header cut") {
				stream += "\n" + strings.Repeat("\x00", 64)
			}
			fs := newFrameStream(io.NopCloser(strings.NewReader(stream)))
			_, err := fs.Next()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// A frame larger than the first read step still arrives whole.
func TestFramesLarge(t *testing.T) {
	w, h := 1280, 720
	pix := make([]byte, w*h*3)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	fs := newFrameStream(io.NopCloser(bytes.NewReader(frameBytes("Entry", FormatRGB24, w, h, 1, 0, pix))))
	f, err := fs.Next()
	if err != nil || !bytes.Equal(f.Pix, pix) {
		t.Fatalf("large frame: err %v, %d bytes", err, len(f.Pix))
	}
}

// Helpers refuse a frame whose pixels do not match its size, rather than
// index past them.
func TestFrameImagesOfBadFrame(t *testing.T) {
	f := Frame{Width: 4, Height: 4, Format: FormatRGB24, Pix: make([]byte, 10)}
	if f.Gray() != nil || f.RGBA() != nil {
		t.Fatal("images of a frame with too few pixels")
	}
}
