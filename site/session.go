package site

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/media"
)

// UnsupportedCodecError is returned when a camera offers no recordable video.
type UnsupportedCodecError struct {
	Camera  string
	Offered []string
}

func (e *UnsupportedCodecError) Error() string {
	offered := "no video track"
	if len(e.Offered) > 0 {
		offered = strings.Join(e.Offered, ", ")
	}
	return fmt.Sprintf("camera %s offers %s; Kuzet records H.264, H.265, M-JPEG and MPEG-4 Part 2 "+
		"(select one of them in the camera's stream profile)", e.Camera, offered)
}

// session runs one RTSP session until it fails, goes silent or ctx ends.
// It returns how long media flowed.
func (c *Camera) session(ctx context.Context, reason string) (time.Duration, error) {
	u, err := base.ParseURL(c.cfg.URL)
	if err != nil {
		return 0, fmt.Errorf("camera %s: bad URL: %w", c.cfg.ID, err)
	}
	transport := gortsplib.TransportTCP
	if c.cfg.Transport == "udp" {
		transport = gortsplib.TransportUDP
	}
	silence := c.cfg.OfflineAfter.Std()
	client := &gortsplib.Client{
		Scheme:       u.Scheme,
		Host:         u.Host,
		Transport:    &transport,
		ReadTimeout:  silence,
		WriteTimeout: silence,
		OnPacketsLost: func(lost uint64) {
			c.lost.Add(lost)
			c.m.packetsLost.WithLabelValues(c.cfg.ID).Add(float64(lost))
		},
		OnDecodeError: func(err error) {
			c.m.decodeErrors.WithLabelValues(c.cfg.ID).Inc()
			c.log.Debug("RTP decode error", "err", err)
		},
	}
	if err := client.Start2(); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer client.Close()

	desc, _, err := client.Describe(u)
	if err != nil {
		return 0, fmt.Errorf("describe: %w", err)
	}
	track, medi, forma, err := c.pickTrack(desc.Medias)
	if err != nil {
		return 0, err
	}
	unit, err := newUnitDecoder(forma)
	if err != nil {
		return 0, fmt.Errorf("camera %s: %w", c.cfg.ID, err)
	}
	if _, err := client.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return 0, fmt.Errorf("setup: %w", err)
	}

	// consumers open before Play, except for an M-JPEG camera: its size
	// is in its pictures, not the SDP, and every consumer wants it
	var fo *fanout
	var openErr error
	openConsumers := func(track media.Track) error {
		fo = &fanout{log: c.log}
		for i := range c.consumers {
			cons := &c.consumers[i]
			sink, err := cons.Open(c.cfg.ID, track.Clone(), reason)
			if err != nil {
				for _, o := range fo.outlets {
					_ = o.sink.Close()
				}
				fo = nil
				return fmt.Errorf("start %s: %w", cons.Name, err)
			}
			if sink == nil {
				continue // this consumer does not take this camera
			}
			fo.add(cons, sink)
		}
		fo.start()
		return nil
	}
	defer func() {
		if fo != nil {
			fo.stop()
		}
	}()
	lazy := track.Codec == media.MJPEG && !track.Ready()
	if !lazy {
		if err := openConsumers(track); err != nil {
			return 0, err
		}
	}

	var firstMedia time.Time
	c.sessions.Add(1)
	client.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		now := time.Now()
		c.packets.Add(1)
		c.lastPacket.Store(now.UnixNano())
		c.m.bytesReceived.WithLabelValues(c.cfg.ID).Add(float64(len(pkt.Payload)))
		pts, timed := client.PacketPTS2(medi, pkt)
		nalus, err := unit(pkt)
		if err != nil {
			return
		}
		c.m.framesReceived.WithLabelValues(c.cfg.ID).Inc()
		if !timed {
			// gortsplib starts the timeline at the first keyframe
			c.m.framesUntimed.WithLabelValues(c.cfg.ID).Inc()
			return
		}
		u := newUnit(nalus, pts, now)
		if fo == nil {
			if openErr != nil {
				return
			}
			if track.UpdateParams(u); !track.Ready() {
				c.m.framesUntimed.WithLabelValues(c.cfg.ID).Inc()
				return // a picture whose size cannot be read
			}
			if openErr = openConsumers(track); openErr != nil {
				go client.Close() // Close waits for this callback
				return
			}
		}
		if firstMedia.IsZero() {
			firstMedia = now
			c.streaming(track)
		}
		c.frames.Add(1)
		c.bytes.Add(uint64(u.Size))
		fo.publish(u, c.dropped)
	})
	c.lastPacket.Store(time.Now().UnixNano())
	if _, err := client.Play(nil); err != nil {
		return 0, fmt.Errorf("play: %w", err)
	}

	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	tick := time.NewTicker(silence / 4)
	defer tick.Stop()
	flowed := func() time.Duration {
		if firstMedia.IsZero() {
			return 0
		}
		return time.Since(firstMedia)
	}
	for {
		select {
		case <-ctx.Done():
			client.Close()
			<-done
			return flowed(), ctx.Err()
		case err := <-done:
			if openErr != nil {
				return flowed(), openErr
			}
			return flowed(), fmt.Errorf("session ended: %w", err)
		case <-tick.C:
			last := time.Unix(0, c.lastPacket.Load())
			if time.Since(last) > silence {
				client.Close()
				<-done
				return flowed(), fmt.Errorf("no media for %v", silence.Round(time.Second))
			}
		}
	}
}

// pickTrack chooses the first video format the node records: H.264,
// H.265, M-JPEG or MPEG-4 Part 2.
func (c *Camera) pickTrack(medias []*description.Media) (media.Track, *description.Media, format.Format, error) {
	return pickTrack(c.cfg.ID, medias)
}

func pickTrack(camera string, medias []*description.Media) (media.Track, *description.Media, format.Format, error) {
	var offered []string
	for _, m := range medias {
		for _, f := range m.Formats {
			switch f := f.(type) {
			case *format.H264:
				sps, pps := f.SafeParams()
				return media.Track{Codec: media.H264, SPS: sps, PPS: pps}, m, f, nil
			case *format.H265:
				vps, sps, pps := f.SafeParams()
				return media.Track{Codec: media.H265, VPS: vps, SPS: sps, PPS: pps}, m, f, nil
			case *format.MJPEG:
				return media.Track{Codec: media.MJPEG}, m, f, nil
			case *format.MPEG4Video:
				return media.Track{Codec: media.MPEG4, Config: f.SafeParams()}, m, f, nil
			default:
				offered = append(offered, f.Codec())
			}
		}
	}
	return media.Track{}, nil, nil, &UnsupportedCodecError{Camera: camera, Offered: offered}
}

// newUnitDecoder returns a function turning RTP packets into access units.
func newUnitDecoder(f format.Format) (func(*rtp.Packet) ([][]byte, error), error) {
	switch f := f.(type) {
	case *format.H264:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("H.264 depacketizer: %w", err)
		}
		return func(p *rtp.Packet) ([][]byte, error) {
			au, err := d.Decode(p)
			if err != nil && !errors.Is(err, rtph264.ErrMorePacketsNeeded) &&
				!errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
				return nil, err
			}
			return au, err
		}, nil
	case *format.H265:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("H.265 depacketizer: %w", err)
		}
		return func(p *rtp.Packet) ([][]byte, error) {
			au, err := d.Decode(p)
			if err != nil && !errors.Is(err, rtph265.ErrMorePacketsNeeded) &&
				!errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
				return nil, err
			}
			return au, err
		}, nil
	case *format.MJPEG:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("M-JPEG depacketizer: %w", err)
		}
		return picture(d.Decode), nil
	case *format.MPEG4Video:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("MPEG-4 depacketizer: %w", err)
		}
		return picture(d.Decode), nil
	}
	return nil, fmt.Errorf("no depacketizer for %s", f.Codec())
}

// picture adapts a depacketizer of whole pictures to the unit form: one
// element, the picture.
func picture(decode func(*rtp.Packet) ([]byte, error)) func(*rtp.Packet) ([][]byte, error) {
	return func(p *rtp.Packet) ([][]byte, error) {
		pic, err := decode(p)
		if err != nil {
			return nil, err
		}
		return [][]byte{pic}, nil
	}
}

// newUnit copies the NAL units into one buffer the unit owns: the
// depacketizer may reuse its memory, and consumers run later.
func newUnit(nalus [][]byte, pts int64, now time.Time) *media.Unit {
	size := 0
	for _, n := range nalus {
		size += len(n)
	}
	buf := make([]byte, size)
	out := make([][]byte, len(nalus))
	off := 0
	for i, n := range nalus {
		copy(buf[off:], n)
		out[i] = buf[off : off+len(n) : off+len(n)]
		off += len(n)
	}
	return &media.Unit{NALUs: out, PTS: pts, Time: now, Size: size}
}
