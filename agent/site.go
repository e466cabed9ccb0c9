package agent

import (
	"context"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
)

// RecorderQueue is how many access units may wait for the recorder (about
// 20 s at 25 fps): a slow disk is absorbed, not passed on to ingest.
const RecorderQueue = 512

// openSite opens the site role: the consumers every camera session feeds
// (the recorder, plate reading, the live view and re-stream, the tap of
// live relays to ancestors, tamper detection) and the cameras, those of
// the cached catalogue slice ahead of the file's. Run runs the sessions.
func (a *Agent) openSite() error {
	cfg := a.cfg
	// the recorder behind each camera's gate: always open, or on events
	consumers := []media.Consumer{{
		Name: "recorder", Queue: RecorderQueue, Critical: true, SubStreams: true,
		Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
			return a.rec.Gate(camera, tr.Codec, a.archive.NewRecorder(camera, tr, reason)), nil
		},
	}}
	for _, c := range cfg.Cameras {
		if c.ANPR.Enabled && !c.Disabled { // fail at start, not at the first frame
			if _, err := a.plateModels(); err != nil {
				return err
			}
			break
		}
	}
	plateReader, err := a.newPlateReader()
	if err != nil {
		return err
	}
	consumers = append(consumers, plateReader.Site())
	if len(cfg.Federation.Upstream) > 0 || len(cfg.Plugins) > 0 || cfg.PluginsDir != "" {
		// links up the tree and plugins attach to running streams; before
		// the live view: sub-streams feed it too
		a.tap = site.NewTap()
		consumers = append(consumers, a.tap.Consumer())
	}
	liveConsumers, err := a.openLiveView()
	if err != nil {
		return err
	}
	consumers = append(consumers, liveConsumers...)
	a.cached = a.cachedSlice()
	cams, zones, err := a.sliceCameras(a.cached)
	if err != nil {
		a.log.Error("cached catalogue slice refused; running the file's cameras only", "err", err)
		cams, zones = cfg.Cameras, cfg.Zones
	}
	a.setZones(zones)
	a.setCameras(cams)
	if err := a.openRecording(cams); err != nil {
		return err
	}
	consumers = append(consumers, a.rec.MotionConsumer(""))
	tc, err := a.tamperConsumer(cams)
	if err != nil {
		return err
	}
	if tc != nil {
		consumers = append(consumers, *tc)
	}
	a.site = site.New(site.Options{
		Cameras:    cams,
		Events:     a.events,
		Logger:     a.log.With("component", "site"),
		Registerer: a.reg,
		Consumers:  consumers,
	})
	a.life.loop("observed hierarchy", func(ctx context.Context) { a.tree.Follow(ctx, a.events) })
	return nil
}
