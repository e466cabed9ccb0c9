package camevents

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/textproto"
	"testing"
	"time"

	"github.com/kuzet/kuzet/plates/platetext"
)

// testJPEG is a small real JPEG of w×h pixels.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type testPart struct {
	name, filename, ctype string
	data                  []byte
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func buildMultipart(t testing.TB, parts ...testPart) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(p.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

func TestSniff(t *testing.T) {
	ct, mp := buildMultipart(t, testPart{name: "anpr.xml", filename: "anpr.xml", ctype: "application/xml", data: []byte(isapiXML)},
		testPart{name: "licensePlatePicture.jpg", filename: "licensePlatePicture.jpg", ctype: "image/jpeg", data: testJPEG(t, 16, 8)})
	gct, gmp := buildMultipart(t, testPart{name: "event", ctype: "application/json", data: []byte(`{"plate": "123ABC02"}`)})
	for _, c := range []struct {
		ct, body, want string
	}{
		{"application/xml", isapiXML, FormatHikvision},
		{"", isapiXML, FormatHikvision},
		{ct, string(mp), FormatHikvision},
		{gct, string(gmp), FormatGeneric},
		{"application/json", `{"plate": "123ABC02", "confidence": 0.9}`, FormatGeneric},
		{"application/json", dahuaData1, FormatDahua},
		{"text/plain", "Code=TrafficJunction;action=Pulse;index=0;data=" + dahuaData1, FormatDahua},
		{"application/json", `[1, 2]`, FormatGeneric},
	} {
		if got := Sniff(c.ct, []byte(c.body)); got != c.want {
			t.Errorf("Sniff(%q, %.40q) = %s, want %s", c.ct, c.body, got, c.want)
		}
	}
}

func TestParseUnknownFormat(t *testing.T) {
	_, err := Parse("axis", "application/json", []byte(`{}`))
	var e *Error
	if !errors.As(err, &e) || e.Msg == "" {
		t.Fatalf("err = %v", err)
	}
	r, err := Parse("", "application/xml", []byte(isapiXML))
	if err != nil || r.Plate != "123ABC02" {
		t.Fatalf("sniffed: %+v %v", r, err)
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2025, 8, 18, 11, 5, 0, 0, time.UTC)
	for _, c := range []struct {
		camera time.Time
		want   time.Time
		ok     bool
	}{
		{time.Time{}, now, false},
		{now.Add(-2 * time.Second), now.Add(-2 * time.Second), true},
		{now.Add(5 * time.Second), now.Add(5 * time.Second), true},
		{now.Add(5 * time.Hour), now, false},                     // local time sent as UTC, east of Greenwich
		{now.Add(-3 * time.Hour), now.Add(-3 * time.Hour), true}, // sent late after an outage
		{now.Add(-48 * time.Hour), now, false},
	} {
		got, ok := Read{Time: c.camera}.When(now)
		if !got.Equal(c.want) || ok != c.ok {
			t.Errorf("When(%v) = %v %v, want %v %v", c.camera, got, ok, c.want, c.ok)
		}
	}
}

func TestConfidenceScales(t *testing.T) {
	for in, want := range map[float64]float64{0: 0, 0.93: 0.93, 1: 1, 93: 0.93, 100: 1, 255: 1, 300: 0, -1: 0} {
		if got := confidence(in); got != want {
			t.Errorf("confidence(%v) = %v, want %v", in, got, want)
		}
	}
}

// checkParsed holds every parser's results to the same promises.
func checkParsed(t *testing.T, r Read, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		var ig *Ignored
		if !errors.As(err, &e) && !errors.As(err, &ig) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		return
	}
	if r.Plate == "" || len([]rune(r.Plate)) > maxPlate || platetext.Normalize(r.Plate) != r.Plate {
		t.Fatalf("plate %q", r.Plate)
	}
	if r.Confidence < 0 || r.Confidence > 1 {
		t.Fatalf("confidence %v", r.Confidence)
	}
	if r.Direction != "" && r.Direction != "entry" && r.Direction != "exit" {
		t.Fatalf("direction %q", r.Direction)
	}
	if r.Country != "" && (len(r.Country) != 2 || !isUpperAlpha(r.Country)) {
		t.Fatalf("country %q", r.Country)
	}
	for _, p := range [][]byte{r.Overview, r.Crop} {
		if p != nil {
			if _, err := jpeg.Decode(bytes.NewReader(p)); err != nil {
				t.Fatalf("picture does not decode: %v", err)
			}
		}
	}
	if !r.Box.Empty() {
		w, h := jpegSize(r.Overview)
		if !r.Box.In(image.Rect(0, 0, w, h)) {
			t.Fatalf("box %v outside the %dx%d overview", r.Box, w, h)
		}
	}
}

// hugeJPEG is a small JPEG whose header claims 20000×20000 pixels.
func hugeJPEG(t testing.TB) []byte {
	t.Helper()
	b := testJPEG(t, 8, 8)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	out := append([]byte(nil), b...)
	out[i+5], out[i+6] = 20000>>8, 20000&0xff // height
	out[i+7], out[i+8] = 20000>>8, 20000&0xff // width
	return out
}
