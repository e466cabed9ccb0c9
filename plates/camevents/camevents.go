// Package camevents parses the plate events that cameras with their own
// ANPR post to the node: a generic JSON form, Hikvision ISAPI
// (EventNotificationAlert with an ANPR block) and Dahua ITC traffic events,
// each as a plain body or as multipart/form-data with JPEG pictures. Every
// format gives one Read. The parsers are tolerant of fields they do not use
// and strict on the ones they need: a bad event is an *Error naming the
// field, an event without a plate (a heartbeat, another event type, a
// vehicle without a readable plate) is *Ignored. Plates are normalised as
// the node's own reads are (platetext.Normalize).
//
// It may not import plates or anpr: both import it.
package camevents

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kuzet/kuzet/plates/platetext"
)

// Formats a camera may post in ("" lets Parse tell them apart).
const (
	FormatGeneric   = "generic"
	FormatHikvision = "hikvision"
	FormatDahua     = "dahua"
)

// Bounds on what a camera may send.
const (
	MaxBody   = 8 << 20 // a whole request, pictures included
	MaxPixels = 40e6    // a picture's decoded size (against decompression bombs)
	maxParts  = 16      // multipart parts
	maxPlate  = 16      // letters and digits of a plate
	maxRaw    = 64      // bytes of the plate as sent
)

// Read is one plate read as a camera reported it.
type Read struct {
	Plate      string          // normalised like the node's own reads (platetext.Normalize)
	Raw        string          // as the camera sent it
	Country    string          // ISO 3166 alpha-2, "" when the camera did not say
	Confidence float64         // 0–1; 0 when the camera did not say
	Time       time.Time       // when the camera read it; zero when it did not say
	Direction  string          // "entry" (vehicle approaching), "exit" (leaving) or ""
	Box        image.Rectangle // the plate in Overview, pixels; empty when unknown
	Overview   []byte          // JPEG of the scene, nil when not sent
	Crop       []byte          // JPEG of the plate: sent, or cut from Overview at Box; nil when neither
}

// Error is a malformed event: Field names what was wrong.
type Error struct {
	Format string
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Format + " event: " + e.Msg
	}
	return e.Format + " event: " + e.Field + ": " + e.Msg
}

// Ignored is a well-formed event that carries no plate read; the camera is
// answered as if it was taken, so that it does not send it again.
type Ignored struct{ Reason string }

func (e *Ignored) Error() string { return "not a plate read: " + e.Reason }

func bad(format, field, msg string, args ...any) error {
	return &Error{Format: format, Field: field, Msg: fmt.Sprintf(msg, args...)}
}

// Parse reads one event in format; with format "" the format is told by
// the Content-Type and the body (see Sniff).
func Parse(format, contentType string, body []byte) (Read, error) {
	if format == "" {
		format = Sniff(contentType, body)
	}
	switch format {
	case FormatGeneric:
		return ParseGeneric(contentType, body)
	case FormatHikvision:
		return ParseISAPI(contentType, body)
	case FormatDahua:
		return ParseDahua(contentType, body)
	}
	return Read{}, &Error{Format: "camera", Msg: fmt.Sprintf("unknown format %q (generic, hikvision or dahua)", format)}
}

// Sniff tells the format of an event: XML (alone or in a multipart body)
// is Hikvision's; JSON with a "plate" key is the generic form; other JSON
// and Dahua's "Code=...;data={...}" text are Dahua's.
func Sniff(contentType string, body []byte) string {
	mt, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		parts, err := splitMultipart(params["boundary"], body)
		if err != nil {
			return FormatGeneric // the generic parser names the problem
		}
		for _, p := range parts {
			if p.isImage() {
				continue
			}
			if looksXML(p.data) {
				return FormatHikvision
			}
			return sniffText(p.data)
		}
		return FormatGeneric
	}
	if looksXML(body) || strings.Contains(mt, "xml") {
		return FormatHikvision
	}
	return sniffText(body)
}

func sniffText(b []byte) string {
	b = trimSpace(b)
	if bytes.HasPrefix(b, []byte("Code=")) || bytes.HasPrefix(b, []byte("code=")) {
		return FormatDahua
	}
	var probe struct {
		Plate *jsonAny `json:"plate"`
	}
	if decodeJSON(b, &probe) == nil && probe.Plate != nil {
		return FormatGeneric
	}
	if len(b) > 0 && b[0] == '{' {
		return FormatDahua
	}
	return FormatGeneric
}

func looksXML(b []byte) bool {
	b = trimSpace(b)
	return len(b) > 0 && b[0] == '<'
}

func trimSpace(b []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
}

// noPlate are what cameras send for a vehicle whose plate they could not
// read (normalised).
var noPlate = map[string]bool{"UNKNOWN": true, "NOPLATE": true, "无车牌": true, "无牌车": true, "未识别": true}

// plate checks and normalises a vendor's plate text; no readable plate is
// *Ignored.
func plate(format, field, raw string) (string, error) {
	if len(raw) > maxRaw {
		return "", bad(format, field, "%d bytes; a plate has at most %d", len(raw), maxRaw)
	}
	if !utf8.ValidString(raw) {
		return "", bad(format, field, "not UTF-8 text")
	}
	p := platetext.Normalize(raw)
	if p == "" || noPlate[p] {
		return "", &Ignored{Reason: fmt.Sprintf("%s %q: the camera read no plate", field, raw)}
	}
	if n := utf8.RuneCountInString(p); n > maxPlate {
		return "", bad(format, field, "%q has %d letters and digits; a plate has at most %d", raw, n, maxPlate)
	}
	return p, nil
}

// confidence scales a vendor's confidence to 0–1: up to 1 it is a
// fraction, up to 100 a percentage, up to 255 a byte scale; anything else
// is unknown (0).
func confidence(v float64) float64 {
	switch {
	case v <= 0 || v != v:
		return 0
	case v <= 1:
		return v
	case v <= 100:
		return v / 100
	case v <= 255:
		return v / 255
	}
	return 0
}

// alpha3 maps the ISO 3166 alpha-3 codes of the plate grammars' countries
// to alpha-2; cameras report either.
var alpha3 = map[string]string{
	"KAZ": "KZ", "RUS": "RU", "BLR": "BY", "KGZ": "KG", "UZB": "UZ", "TJK": "TJ", "TKM": "TM",
	"ARM": "AM", "AZE": "AZ", "GEO": "GE", "MNG": "MN", "CHN": "CN", "TUR": "TR", "UKR": "UA",
	"MDA": "MD", "POL": "PL", "LTU": "LT", "LVA": "LV", "EST": "EE", "DEU": "DE", "NLD": "NL",
	"CZE": "CZ", "SVK": "SK", "HUN": "HU", "ROU": "RO", "BGR": "BG", "AUT": "AT", "ITA": "IT",
	"FRA": "FR", "ESP": "ES", "BRA": "BR", "USA": "US",
}

// country returns an alpha-2 code for what a camera sent as the country,
// "" when it is not one (vendors also send numeric codes of their own).
func country(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 2 && isUpperAlpha(s) {
		return s
	}
	return alpha3[s]
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// direction maps a vendor's words for how a vehicle moved: towards the
// camera is entry, away from it exit; others are unknown.
func direction(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "entry", "in", "forward", "approach", "approaching", "head", "obverse":
		return "entry"
	case "exit", "out", "reverse", "away", "leave", "leaving", "tail":
		return "exit"
	}
	return ""
}

// checkJPEG makes sure a picture is a JPEG of a sane size that decodes.
func checkJPEG(format, field string, b []byte) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return bad(format, field, "not a JPEG picture: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || float64(cfg.Width)*float64(cfg.Height) > MaxPixels {
		return bad(format, field, "JPEG of %dx%d pixels; at most %.0f megapixels", cfg.Width, cfg.Height, MaxPixels/1e6)
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		return bad(format, field, "JPEG does not decode: %v", err)
	}
	return nil
}

// jpegSize is a checked picture's size.
func jpegSize(b []byte) (int, int) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0
	}
	return cfg.Width, cfg.Height
}

// finish checks the pictures and keeps the box only where it lies in the
// overview.
func finish(format string, r Read) (Read, error) {
	for _, p := range []struct {
		name string
		b    []byte
	}{{"overview", r.Overview}, {"crop", r.Crop}} {
		if p.b != nil {
			if err := checkJPEG(format, p.name, p.b); err != nil {
				return Read{}, err
			}
		}
	}
	if r.Overview == nil {
		r.Box = image.Rectangle{}
	} else if w, h := jpegSize(r.Overview); !r.Box.In(image.Rect(0, 0, w, h)) {
		r.Box = image.Rectangle{}
	}
	if r.Box.Empty() {
		r.Box = image.Rectangle{}
	}
	if r.Crop == nil && !r.Box.Empty() {
		r.Crop = cropJPEG(r.Overview, r.Box)
	}
	return r, nil
}

// cropJPEG cuts the plate out of the overview, with a margin as the node
// crops its own reads; nil if the overview does not decode.
func cropJPEG(overview []byte, box image.Rectangle) []byte {
	img, err := jpeg.Decode(bytes.NewReader(overview))
	if err != nil {
		return nil
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return nil
	}
	r := box.Inset(-max(box.Dy()/2, 8)).Intersect(img.Bounds())
	var b bytes.Buffer
	if r.Empty() || jpeg.Encode(&b, sub.SubImage(r), &jpeg.Options{Quality: 85}) != nil {
		return nil
	}
	return b.Bytes()
}

// part is one part of a multipart body.
type part struct {
	name, filename, ctype string
	data                  []byte
}

func (p part) isImage() bool {
	mt, _, _ := mime.ParseMediaType(p.ctype)
	if strings.HasPrefix(mt, "image/") {
		return true
	}
	for _, n := range []string{p.name, p.filename} {
		n = strings.ToLower(n)
		if strings.HasSuffix(n, ".jpg") || strings.HasSuffix(n, ".jpeg") {
			return true
		}
	}
	return len(p.data) > 2 && p.data[0] == 0xff && p.data[1] == 0xd8
}

// named reports whether the part's name or file name contains one of
// words (case-insensitive).
func (p part) named(words ...string) bool {
	n := strings.ToLower(p.name + " " + p.filename)
	for _, w := range words {
		if strings.Contains(n, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

func splitMultipart(boundary string, body []byte) ([]part, error) {
	if boundary == "" {
		return nil, errors.New("multipart Content-Type without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []part
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %v", err)
		}
		if len(out) == maxParts {
			return nil, fmt.Errorf("more than %d parts", maxParts)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("multipart part %d: %v", len(out)+1, err)
		}
		out = append(out, part{name: p.FormName(), filename: p.FileName(), ctype: p.Header.Get("Content-Type"), data: data})
	}
	if len(out) == 0 {
		return nil, errors.New("multipart body without parts")
	}
	return out, nil
}

// multipartBody splits a body whose Content-Type is multipart; ok is false
// for any other body.
func multipartBody(format, contentType string, body []byte) ([]part, bool, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, false, nil
	}
	parts, err := splitMultipart(params["boundary"], body)
	if err != nil {
		return nil, true, &Error{Format: format, Field: "body", Msg: err.Error()}
	}
	return parts, true, nil
}

// pictures sorts a multipart body's JPEG parts into the scene and the plate:
// a part named after the plate (licensePlatePicture.jpg, plate, cutout) is
// the crop, the first other picture the overview.
func pictures(parts []part) (overview, crop []byte) {
	for _, p := range parts {
		if !p.isImage() {
			continue
		}
		switch {
		case p.named("plate", "cutout") && crop == nil:
			crop = p.data
		case !p.named("plate", "cutout") && overview == nil:
			overview = p.data
		}
	}
	return overview, crop
}

// How far a camera's own time may be from the node's clock for the read to
// keep it: a camera that buffered its events while the node was away sends
// them late with their own times; a time ahead means a wrong clock.
const (
	MaxAhead  = 10 * time.Second
	MaxBehind = 24 * time.Hour
)

// When is the time to file the read at: the camera's own, or received when
// the camera sent none or one off the node's clock (ok false).
func (r Read) When(received time.Time) (at time.Time, ok bool) {
	if r.Time.IsZero() || r.Time.After(received.Add(MaxAhead)) || r.Time.Before(received.Add(-MaxBehind)) {
		return received, false
	}
	return r.Time, true
}
