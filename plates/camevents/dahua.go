package camevents

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"strings"
	"time"
)

// dahuaData is the part of a Dahua ITC traffic event (TrafficJunction,
// TrafficGate, ANPR ...) a plate read needs.
type dahuaData struct {
	Object            *dahuaObject               `json:"Object"`
	TrafficCar        *dahuaCar                  `json:"TrafficCar"`
	CommInfo          *struct{ Country *string } `json:"CommInfo"`
	UTC               *float64                   `json:"UTC"`
	RealUTC           *float64                   `json:"RealUTC"`
	UTCMS             *float64                   `json:"UTCMS"`
	VehicleDirection  string                     `json:"VehicleDirection"`
	JunctionDirection string                     `json:"JunctionDirection"`
}

type dahuaObject struct {
	ObjectType          string    `json:"ObjectType"`
	Text                *string   `json:"Text"`
	Confidence          *float64  `json:"Confidence"`
	BoundingBox         []float64 `json:"BoundingBox"`         // 0–8191 of the picture
	OriginalBoundingBox []float64 `json:"OriginalBoundingBox"` // pixels
}

type dahuaCar struct {
	PlateNumber *string  `json:"PlateNumber"`
	Confidence  *float64 `json:"Confidence"`
	Country     *string  `json:"Country"`
}

// dahuaEvent is one event as Dahua wraps it: {"Code", "Action", "Data"}.
type dahuaEvent struct {
	Code string          `json:"Code"`
	Data json.RawMessage `json:"Data"`
}

// ParseDahua reads a Dahua ITC traffic event in its JSON form: the event's
// data ({"Object", "TrafficCar", "UTC" ...}), the event
// ({"Code": "TrafficJunction", "Action": "Pulse", "Data": {...}}), an event
// stream notification ({"params": {"eventList": [...]}}, the first event
// with a plate is taken) or the text form "Code=TrafficJunction;...;data={...}";
// alone or as the first part of a multipart body whose JPEG parts are the
// scene and the plate (a part named after the plate or cutout).
//
// The plate is TrafficCar.PlateNumber, else Object.Text; the confidence
// TrafficCar.Confidence, else Object.Confidence (a fraction, a percentage
// or 0–255); the time RealUTC, else UTC (seconds, plus UTCMS); the country
// TrafficCar.Country or CommInfo.Country; the direction VehicleDirection
// (Head: approaching, Tail: leaving) or JunctionDirection (Obverse, Reverse).
func ParseDahua(contentType string, body []byte) (Read, error) {
	const f = FormatDahua
	parts, isMultipart, err := multipartBody(f, contentType, body)
	if err != nil {
		return Read{}, err
	}
	var overview, crop []byte
	if isMultipart {
		body = nil
		for _, p := range parts {
			if !p.isImage() && body == nil {
				body = p.data
			}
		}
		if body == nil {
			return Read{}, bad(f, "body", "the multipart body has no JSON part with the event")
		}
		overview, crop = pictures(parts)
	}
	data, err := dahuaEventData(trimSpace(body))
	if err != nil {
		return Read{}, err
	}
	var d dahuaData
	if err := decodeJSON(data, &d); err != nil {
		return Read{}, jsonError(f, err)
	}
	var r Read
	raw, field := "", ""
	switch {
	case d.TrafficCar != nil && d.TrafficCar.PlateNumber != nil && strings.TrimSpace(*d.TrafficCar.PlateNumber) != "":
		raw, field = *d.TrafficCar.PlateNumber, "TrafficCar.PlateNumber"
	case d.Object != nil && d.Object.Text != nil && (d.Object.ObjectType == "" || strings.EqualFold(d.Object.ObjectType, "Plate")):
		raw, field = *d.Object.Text, "Object.Text"
	case d.TrafficCar == nil && d.Object == nil:
		return Read{}, &Ignored{Reason: "the event has neither TrafficCar nor Object: no plate"}
	default:
		return Read{}, &Ignored{Reason: "TrafficCar.PlateNumber and Object.Text are empty: the camera read no plate"}
	}
	r.Raw = strings.TrimSpace(raw)
	if r.Plate, err = plate(f, field, r.Raw); err != nil {
		return Read{}, err
	}
	if d.TrafficCar != nil && d.TrafficCar.Confidence != nil {
		r.Confidence = confidence(*d.TrafficCar.Confidence)
	}
	if r.Confidence == 0 && d.Object != nil && d.Object.Confidence != nil {
		r.Confidence = confidence(*d.Object.Confidence)
	}
	if d.TrafficCar != nil && d.TrafficCar.Country != nil {
		r.Country = country(*d.TrafficCar.Country)
	}
	if r.Country == "" && d.CommInfo != nil && d.CommInfo.Country != nil {
		r.Country = country(*d.CommInfo.Country)
	}
	// RealUTC is UTC; UTC is, on many firmwares, the local time counted as
	// if it were UTC (the node replaces a time far off its own clock)
	for _, s := range []*float64{d.RealUTC, d.UTC} {
		if s != nil && *s > 0 && *s < 1e11 {
			sec, frac := math.Modf(*s)
			r.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			if d.UTCMS != nil && *d.UTCMS > 0 && *d.UTCMS < 1000 && frac == 0 {
				r.Time = r.Time.Add(time.Duration(*d.UTCMS) * time.Millisecond)
			}
			break
		}
	}
	r.Direction = direction(d.VehicleDirection)
	if r.Direction == "" {
		r.Direction = direction(d.JunctionDirection)
	}
	r.Overview, r.Crop = overview, crop
	if r.Overview != nil && d.Object != nil {
		w, h := jpegSize(r.Overview)
		if b := d.Object.OriginalBoundingBox; validBox(b) {
			r.Box = image.Rect(int(b[0]), int(b[1]), int(b[2]), int(b[3]))
		} else if b := d.Object.BoundingBox; validBox(b) && w > 0 && h > 0 {
			sx, sy := float64(w)/8192, float64(h)/8192
			r.Box = image.Rect(int(b[0]*sx), int(b[1]*sy), int(math.Ceil(b[2]*sx)), int(math.Ceil(b[3]*sy)))
		}
	}
	return finish(f, r)
}

// validBox is a Dahua box [left, top, right, bottom] with a size.
func validBox(b []float64) bool {
	return len(b) == 4 && b[0] >= 0 && b[1] >= 0 && b[2] > b[0] && b[3] > b[1] && b[2] < 1e5 && b[3] < 1e5
}

// dahuaEventData unwraps the event's data from the forms Dahua sends.
func dahuaEventData(body []byte) ([]byte, error) {
	const f = FormatDahua
	if bytes.HasPrefix(body, []byte("Code=")) || bytes.HasPrefix(body, []byte("code=")) {
		// Code=TrafficJunction;action=Pulse;index=0;data={...}
		i := bytes.Index(body, []byte(";data="))
		if i < 0 {
			return nil, &Ignored{Reason: "a " + string(firstField(body)) + " event without data"}
		}
		body = trimSpace(body[i+len(";data="):])
	}
	var probe map[string]json.RawMessage
	if err := decodeJSON(body, &probe); err != nil {
		return nil, jsonError(f, err)
	}
	if probe == nil {
		return nil, bad(f, "body", "expected a JSON object, got null")
	}
	if raw, ok := probe["params"]; ok {
		var p struct {
			EventList []dahuaEvent `json:"eventList"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(f, "params.eventList", "expected a list of events: %v", err)
		}
		var codes []string
		for _, e := range p.EventList {
			if hasPlate(e.Data) {
				return e.Data, nil
			}
			codes = append(codes, e.Code)
		}
		return nil, &Ignored{Reason: "no event of the list carries a plate (" + strings.Join(codes, ", ") + ")"}
	}
	if raw, ok := probe["Data"]; ok {
		var code string
		_ = json.Unmarshal(probe["Code"], &code)
		if bytes.Equal(trimSpace(raw), []byte("null")) {
			return nil, &Ignored{Reason: "event " + code + " without data"}
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil, bad(f, "Data", "expected the event's data object")
		}
		return raw, nil
	}
	return body, nil
}

// hasPlate reports whether event data names a plate at all.
func hasPlate(data json.RawMessage) bool {
	var d dahuaData
	if json.Unmarshal(data, &d) != nil {
		return false
	}
	return (d.TrafficCar != nil && d.TrafficCar.PlateNumber != nil && strings.TrimSpace(*d.TrafficCar.PlateNumber) != "") ||
		(d.Object != nil && d.Object.Text != nil && strings.TrimSpace(*d.Object.Text) != "")
}

func firstField(b []byte) []byte {
	b, _, _ = bytes.Cut(b, []byte(";"))
	_, v, _ := bytes.Cut(b, []byte("="))
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}
