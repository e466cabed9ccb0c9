package camevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strings"
	"time"
)

// The generic form, for cameras and systems that can be told what to send:
//
//	{"plate": "123 ABC 02", "country": "KZ", "confidence": 0.93,
//	 "time": "2025-08-18T11:05:12.345Z", "direction": "entry",
//	 "box": [412, 310, 180, 42], "overview": "<base64 JPEG>", "crop": "<base64 JPEG>"}
//
// Only plate is required. confidence is 0–1, or a percentage above 1 (up
// to 100); box is x, y, width, height in the overview's pixels. The same
// JSON may come as the part "event" of a multipart/form-data body, with the
// pictures as the JPEG parts "overview" and "crop".
type genericEvent struct {
	Plate      *string   `json:"plate"`
	Country    string    `json:"country"`
	Confidence *float64  `json:"confidence"`
	Time       *string   `json:"time"`
	Direction  string    `json:"direction"`
	Box        []float64 `json:"box"`
	Overview   string    `json:"overview"`
	Crop       string    `json:"crop"`
}

type jsonAny = json.RawMessage

// decodeJSON decodes exactly one JSON value.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// jsonError names the field a JSON decoding error is about.
func jsonError(format string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return bad(format, field, "expected %s, got JSON %s", te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return bad(format, "body", "not JSON: %v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bad(format, "body", "not JSON: it ends early")
	}
	return bad(format, "body", "not JSON: %v", err)
}

// ParseGeneric reads the generic JSON form (see genericEvent).
func ParseGeneric(contentType string, body []byte) (Read, error) {
	const f = FormatGeneric
	parts, isMultipart, err := multipartBody(f, contentType, body)
	if err != nil {
		return Read{}, err
	}
	var overview, crop []byte
	if isMultipart {
		body = nil
		for _, p := range parts {
			switch {
			case p.name == "overview":
				overview = p.data
			case p.name == "crop":
				crop = p.data
			case p.name == "event":
				body = p.data
			}
		}
		for _, p := range parts {
			if body == nil && !p.isImage() && p.name != "overview" && p.name != "crop" {
				body = p.data // an event part named otherwise
			}
		}
		if body == nil {
			return Read{}, bad(f, "event", "the multipart body has no JSON part named event")
		}
	}
	var ev genericEvent
	if err := decodeJSON(trimSpace(body), &ev); err != nil {
		return Read{}, jsonError(f, err)
	}
	if ev.Plate == nil {
		return Read{}, bad(f, "plate", "required (the plate's letters and digits, e.g. \"123ABC02\")")
	}
	var r Read
	r.Raw = *ev.Plate
	if r.Plate, err = plate(f, "plate", r.Raw); err != nil {
		var ig *Ignored
		if errors.As(err, &ig) {
			return Read{}, bad(f, "plate", "%q has no letters or digits", r.Raw)
		}
		return Read{}, err
	}
	if ev.Country != "" {
		if r.Country = country(ev.Country); r.Country == "" {
			return Read{}, bad(f, "country", "%q is not an ISO 3166 country code (e.g. KZ or KAZ)", ev.Country)
		}
	}
	if c := ev.Confidence; c != nil {
		switch {
		case *c < 0 || *c > 100 || math.IsNaN(*c):
			return Read{}, bad(f, "confidence", "%v is outside 0–1 (or 0–100 as a percentage)", *c)
		case *c > 1:
			r.Confidence = *c / 100
		default:
			r.Confidence = *c
		}
	}
	if ev.Time != nil {
		t, err := time.Parse(time.RFC3339Nano, *ev.Time)
		if err != nil {
			return Read{}, bad(f, "time", "%q is not an RFC 3339 time (e.g. 2025-08-18T11:05:12.345Z)", *ev.Time)
		}
		r.Time = t
	}
	switch ev.Direction {
	case "", "entry", "exit":
		r.Direction = ev.Direction
	default:
		return Read{}, bad(f, "direction", "%q must be entry or exit", ev.Direction)
	}
	if ev.Box != nil {
		b := ev.Box
		if len(b) != 4 || b[0] < 0 || b[1] < 0 || b[2] <= 0 || b[3] <= 0 || b[0]+b[2] > 1e5 || b[1]+b[3] > 1e5 {
			return Read{}, bad(f, "box", "must be [x, y, width, height] in the overview's pixels, with a positive size")
		}
		r.Box = image.Rect(int(b[0]), int(b[1]), int(math.Ceil(b[0]+b[2])), int(math.Ceil(b[1]+b[3])))
	}
	for _, p := range []struct {
		field string
		in    string
		out   *[]byte
	}{{"overview", ev.Overview, &overview}, {"crop", ev.Crop, &crop}} {
		if p.in == "" {
			continue
		}
		if *p.out != nil {
			return Read{}, bad(f, p.field, "sent both as a JSON field and as a multipart part")
		}
		b, err := decodeBase64(p.in)
		if err != nil {
			return Read{}, bad(f, p.field, "not base64: %v", err)
		}
		*p.out = b
	}
	r.Overview, r.Crop = overview, crop
	if r.Box != (image.Rectangle{}) && r.Overview == nil {
		return Read{}, bad(f, "box", "given without the overview picture it is in")
	}
	if r.Overview != nil && r.Box != (image.Rectangle{}) {
		if err := checkJPEG(f, "overview", r.Overview); err != nil {
			return Read{}, err
		}
		if w, h := jpegSize(r.Overview); !r.Box.In(image.Rect(0, 0, w, h)) {
			return Read{}, bad(f, "box", "%v lies outside the %dx%d overview", ev.Box, w, h)
		}
	}
	return finish(f, r)
}

// decodeBase64 accepts standard base64 with or without padding, and a
// data: URL prefix.
func decodeBase64(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		_, data, found := strings.Cut(rest, ",")
		if !found {
			return nil, fmt.Errorf("data: URL without a comma")
		}
		s = data
	}
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	return base64.RawStdEncoding.DecodeString(s)
}
