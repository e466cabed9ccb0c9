package camevents

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"io"
	"strconv"
	"strings"
	"time"
)

// isapiAlert is the part of a Hikvision ISAPI EventNotificationAlert an
// ANPR event needs; the many other elements (vehicle attributes, GPS,
// illegal-parking info ...) are skipped.
type isapiAlert struct {
	XMLName   xml.Name   `xml:"EventNotificationAlert"`
	EventType string     `xml:"eventType"`
	DateTime  string     `xml:"dateTime"`
	ANPR      *isapiANPR `xml:"ANPR"`
}

type isapiANPR struct {
	Country         string `xml:"country"`
	LicensePlate    string `xml:"licensePlate"`
	ConfidenceLevel string `xml:"confidenceLevel"`
	Direction       string `xml:"direction"`
	Pictures        []struct {
		FileName  string `xml:"fileName"`
		Type      string `xml:"type"`
		PlateRect *struct {
			X      float64 `xml:"X"`
			Y      float64 `xml:"Y"`
			Width  float64 `xml:"width"`
			Height float64 `xml:"height"`
		} `xml:"plateRect"`
	} `xml:"pictureInfoList>pictureInfo"`
}

// ParseISAPI reads a Hikvision ISAPI ANPR event: the EventNotificationAlert
// XML alone (application/xml), or as the XML part of a multipart/form-data
// body with the pictures licensePlatePicture.jpg (the plate) and
// detectionPicture.jpg or vehiclePicture.jpg (the scene). Alerts of other
// event types (heartbeats, video loss, motion ...) are *Ignored.
func ParseISAPI(contentType string, body []byte) (Read, error) {
	const f = FormatHikvision
	parts, isMultipart, err := multipartBody(f, contentType, body)
	if err != nil {
		return Read{}, err
	}
	var overview, crop []byte
	overviewName := ""
	if isMultipart {
		body = nil
		for _, p := range parts {
			if !p.isImage() && body == nil {
				body = p.data
			}
		}
		if body == nil {
			return Read{}, bad(f, "body", "the multipart body has no XML part (EventNotificationAlert)")
		}
		for _, p := range parts {
			if p.isImage() && p.named("licensePlatePicture", "plate") && crop == nil {
				crop = p.data
			}
		}
		// the scene: detectionPicture.jpg, else vehiclePicture.jpg or a
		// picture named otherwise
		for _, detection := range []bool{true, false} {
			for _, p := range parts {
				if overview == nil && p.isImage() && !p.named("licensePlatePicture", "plate") && (!detection || p.named("detectionPicture")) {
					overview, overviewName = p.data, p.filename
					if overviewName == "" {
						overviewName = p.name
					}
				}
			}
		}
	}
	var a isapiAlert
	dec := xml.NewDecoder(bytes.NewReader(trimSpace(body)))
	// the plate is ASCII or UTF-8; a declared GB2312 is read as it is
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	if err := dec.Decode(&a); err != nil {
		var ue xml.UnmarshalError
		if errors.As(err, &ue) || strings.Contains(err.Error(), "expected element type") {
			return Read{}, bad(f, "body", "the XML is not an EventNotificationAlert: %v", err)
		}
		return Read{}, bad(f, "body", "not XML: %v", err)
	}
	if a.ANPR == nil {
		if !strings.EqualFold(a.EventType, "ANPR") {
			return Read{}, &Ignored{Reason: "eventType " + strconv.Quote(a.EventType) + " carries no plate"}
		}
		return Read{}, bad(f, "ANPR", "an ANPR event without its ANPR element")
	}
	var r Read
	r.Raw = strings.TrimSpace(a.ANPR.LicensePlate)
	if r.Plate, err = plate(f, "ANPR.licensePlate", r.Raw); err != nil {
		return Read{}, err
	}
	if s := strings.TrimSpace(a.ANPR.ConfidenceLevel); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 100 {
			return Read{}, bad(f, "ANPR.confidenceLevel", "%q is not a percentage", s)
		}
		r.Confidence = v / 100
	}
	r.Country = country(a.ANPR.Country) // Hikvision's numeric region codes stay unknown
	r.Direction = direction(a.ANPR.Direction)
	if s := strings.TrimSpace(a.DateTime); s != "" {
		// without a zone the time is the camera's local one, which the
		// node cannot know: it is left out rather than guessed
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			r.Time = t
		}
	}
	// the plate's rectangle is given per picture: only the scene's is used
	for _, p := range a.ANPR.Pictures {
		name := strings.TrimSpace(p.FileName)
		if name == "" && p.Type != "" {
			name = strings.TrimSpace(p.Type) + ".jpg"
		}
		if p.PlateRect != nil && overviewName != "" && strings.EqualFold(name, overviewName) {
			q := p.PlateRect
			r.Box = image.Rect(int(q.X), int(q.Y), int(q.X+q.Width), int(q.Y+q.Height))
			break
		}
	}
	r.Overview, r.Crop = overview, crop
	if len(r.Overview) == 0 {
		r.Overview = nil
	}
	if len(r.Crop) == 0 {
		r.Crop = nil
	}
	return finish(f, r)
}
