package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// The events a simulated site stores are shaped as the recorder, the plate
// reader and the alarm manager shape theirs, so the bytes on the links and
// in the logs are the product's.

// Rates per camera, as the issue states them.
const (
	camerasPerSite = 4
	segmentEvery   = 5 * time.Minute
	plateEvery     = 10 * time.Second
	// alarmEvery: one camera alarm (raised, cleared a minute later) per
	// camera per half hour is "now and then".
	alarmEvery = 30 * time.Minute
	alarmLasts = time.Minute
)

// eventsPerSiteHour is what one site stores in an hour, on average.
func eventsPerSiteHour() float64 {
	perCam := float64(time.Hour/segmentEvery) + float64(time.Hour/plateEvery) + 2*float64(time.Hour/alarmEvery)
	return perCam * camerasPerSite
}

func cameraID(i int) string { return fmt.Sprintf("Camera%d", i+1) }

// segmentClosed is a recorder's segment.closed for a 5-minute file ending at end.
func segmentClosed(cam string, end time.Time, rng *rand.Rand) event.Event {
	start := end.Add(-segmentEvery)
	var sum [32]byte
	for i := range sum {
		sum[i] = byte(rng.Uint32())
	}
	seg := event.Segment{Camera: cam, Start: start, End: end, Path: archive.SegmentPath(cam, start, time.UTC, 0),
		Bytes: 45_000_000 + rng.Int64N(5_000_000), SHA256: hex.EncodeToString(sum[:]), Codec: "h264", Width: 1920, Height: 1080}
	e := event.New(event.KindSegmentClosed, cam, event.SeverityInfo, seg)
	e.Time = end
	return e
}

// plateRead is the plate reader's plate.read for one pass seen at t.
func plateRead(cam, plate string, t time.Time, rng *rand.Rand) event.Event {
	conf := 0.80 + 0.199*rng.Float64()
	first := t.Add(-time.Duration(800+rng.IntN(1500)) * time.Millisecond)
	segStart := t.Truncate(segmentEvery)
	rel := archive.SegmentPath(cam, segStart, time.UTC, 0)
	day := t.UTC().Format("2006/01/02")
	r := plates.PlateRead{Plate: plate, Country: "KZ", Confidence: conf, Direction: []string{"entry", "exit"}[rng.IntN(2)],
		First: first, Last: t, Frames: 4 + rng.IntN(20),
		Overview: fmt.Sprintf("%s/%s/%d-overview.jpg", cam, day, t.UnixMilli()),
		Crop:     fmt.Sprintf("%s/%s/%d-crop.jpg", cam, day, t.UnixMilli()),
		Archive:  rel, Offset: t.Sub(segStart).Seconds(),
		Candidates: []plates.Candidate{{Text: plate, Country: "KZ", Confidence: conf},
			{Text: oneEdit(plate, rng), Country: "KZ", Confidence: conf * 0.6}}}
	e := event.New(plates.KindPlateRead, cam, event.SeverityInfo, r)
	e.Time = t
	return e
}

// compactRead is the payload of the 10 M reads built for the search
// index: what the index reads (plate, confidence) and the read's own
// fields, without image paths and candidates, to keep the build short.
func compactRead(cam, plate string, t time.Time, rng *rand.Rand) event.Event {
	conf := 0.80 + 0.199*rng.Float64()
	r := plates.PlateRead{Plate: plate, Country: "KZ", Confidence: conf, First: t.Add(-time.Second), Last: t, Frames: 8}
	e := event.New(plates.KindPlateRead, cam, event.SeverityInfo, r)
	e.Time = t
	return e
}

// cameraAlarm is the alarm manager's raise or clear of a camera condition.
func cameraAlarm(cam string, raised bool, t time.Time, rng *rand.Rand) event.Event {
	typ, sev := event.AlarmFrameRate, event.SeverityMinor
	if rng.IntN(3) == 0 {
		typ, sev = event.AlarmCameraOffline, event.SeverityMedium // urgent: it also takes the alarm stream
	}
	kind, msg := event.KindAlarmRaised, fmt.Sprintf("%s: %s", cam, typ)
	if !raised {
		kind, msg = event.KindAlarmCleared, fmt.Sprintf("%s: %s cleared", cam, typ)
	}
	e := event.New(kind, cam, sev, event.Alarm{Key: typ + ":" + cam, Type: typ, Message: msg})
	e.Time = t
	return e
}

// plateText is vehicle n's Kazakh-style plate, "123ABC02": three digits,
// three letters, a two-digit region. The same n gives the same plate.
func plateText(n uint64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "vehicle-%d", n))
	const letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
	b := make([]byte, 0, 8)
	for i := range 3 {
		b = append(b, '0'+h[i]%10)
	}
	for i := range 3 {
		b = append(b, letters[int(h[3+i])%len(letters)])
	}
	return string(fmt.Appendf(b, "%02d", 1+int(h[6])%20))
}

// oneEdit changes one character of p, as a misread does.
func oneEdit(p string, rng *rand.Rand) string {
	b := []byte(p)
	i := rng.IntN(len(b))
	if b[i] >= '0' && b[i] <= '9' {
		b[i] = '0' + (b[i]-'0'+1+byte(rng.IntN(9)))%10
	} else {
		b[i] = 'A' + (b[i]-'A'+1+byte(rng.IntN(25)))%26
	}
	return string(b)
}

// vehicle picks which of n vehicles passes: a fifth of them make most
// of the traffic, as commuters and lorries on fixed routes do.
func vehicle(n uint64, rng *rand.Rand) uint64 {
	if rng.IntN(10) < 8 {
		return rng.Uint64N(max(1, n/5))
	}
	return rng.Uint64N(n)
}
