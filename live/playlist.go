package live

import (
	"strconv"

	"github.com/kuzet/kuzet/media"
)

// secs formats a tick count as seconds with at most five decimals.
func secs(b []byte, t int64) []byte {
	us := (t*100000 + media.ClockRate/2) / media.ClockRate // 10 µs units, rounded
	b = strconv.AppendInt(b, us/100000, 10)
	if frac := us % 100000; frac != 0 {
		s := strconv.FormatInt(frac+100000, 10)[1:]
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, '.')
		b = append(b, s...)
	}
	return b
}

// renderPlaylist returns the media playlist; the lock must be held and a
// complete segment must exist.
func (m *muxer) renderPlaylist() []byte {
	if m.playlist != nil {
		return m.playlist
	}
	td := m.targetDuration()
	pt := m.partTarget()
	b := make([]byte, 0, 1024+100*len(m.segs)*int(1+m.segTicks/m.partTicks))
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(td), 10)
	// PART-HOLD-BACK: three parts, as the spec recommends
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = secs(b, 3*pt)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = secs(b, pt)
	b = append(b, "\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, m.segs[0].msn, 10)
	b = append(b, '\n')
	if m.cnt.disc > 0 {
		b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, m.cnt.disc, 10)
		b = append(b, '\n')
	}

	// Parts are listed for the segments within three target durations of
	// the end (RFC 8216bis 4.4.4.9); older ones only as whole segments.
	partsFrom := len(m.segs)
	var tail int64
	for i := len(m.segs) - 1; i >= 0 && tail < 3*int64(td)*media.ClockRate; i-- {
		partsFrom = i
		tail += m.segs[i].dur
	}

	var prevInit *initSection
	for i, s := range m.segs {
		if !s.complete && len(s.parts) == 0 {
			break
		}
		if s.discontinuity {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if s.init != prevInit {
			b = append(b, "#EXT-X-MAP:URI=\"init"...)
			b = strconv.AppendUint(b, s.init.version, 10)
			b = append(b, ".mp4\"\n"...)
			prevInit = s.init
		}
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = s.start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, '\n')
		if i >= partsFrom {
			for _, p := range s.parts {
				b = append(b, "#EXT-X-PART:DURATION="...)
				b = secs(b, p.dur)
				b = append(b, ",URI=\"part"...)
				b = strconv.AppendUint(b, p.id, 10)
				b = append(b, ".mp4\""...)
				if p.independent {
					b = append(b, ",INDEPENDENT=YES"...)
				}
				b = append(b, '\n')
			}
		}
		if s.complete {
			b = append(b, "#EXTINF:"...)
			b = secs(b, s.dur)
			b = append(b, ",\nseg"...)
			b = strconv.AppendUint(b, s.msn, 10)
			b = append(b, ".mp4\n"...)
		}
	}
	b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part"...)
	b = strconv.AppendUint(b, m.cnt.part, 10)
	b = append(b, ".mp4\"\n"...)
	m.playlist = b
	return b
}
