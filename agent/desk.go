package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/checkpoint"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/camevents"
	"github.com/kuzet/kuzet/topology"
)

// openDesk starts the node's pass tokens and exit barriers: the readers,
// barriers and exit parties of its file's checkpoint section and of its
// catalogue zones. Every node has one; a node with no readers or
// barriers (a centre) only answers that it has none.
func (a *Agent) openDesk() error {
	cp := a.cfg.Checkpoint
	dc := checkpoint.DeskConfig{
		BindWindow:  cp.BindWindow.Std(),
		MatchWindow: cp.MatchWindow.Std(),
		Attempts:    cp.Attempts,
		ZoneKind:    a.zoneKind,
		Severity:    func(typ string) event.Severity { return event.Severity(a.cfg.Alarms.Severity[typ]) },
		Audit: func(action, object, detail string) {
			if a.audit != nil {
				if _, err := a.audit.Record(audit.Entry{User: "system", Action: action, Object: object, Detail: detail}); err != nil {
					a.log.Error("audit of a barrier", "err", err)
				}
			}
		},
	}
	for _, b := range cp.Barriers {
		if t := b.Timeout.Std(); t > dc.CommandTimeout {
			dc.CommandTimeout = t
		}
	}
	var err error
	if a.desk, err = checkpoint.NewDesk(a.events, a.visits, dc); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := a.fileDesk(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	a.configureDesk(a.cached)
	a.life.loop("checkpoint desk", func(ctx context.Context) {
		a.desk.Run(ctx, a.log.With("component", "checkpoint"))
	})
	return nil
}

// deskDevices is the file's checkpoint section, plus the readers and
// barriers of the slice's zones of this node (nil: none); the file's win
// on an ID both name.
func (a *Agent) deskDevices(s *topology.Slice) ([]checkpoint.Reader, []checkpoint.Barrier, map[string]string, error) {
	cp := a.cfg.Checkpoint
	var readers []checkpoint.Reader
	var barriers []checkpoint.Barrier
	parties := cp.ExitParties.Parties()
	named := map[string]bool{}
	addReader := func(id, zone, hash string, from []string, silence time.Duration) error {
		if named[id] {
			return nil
		}
		g, err := camevents.NewHashedGate(id, "", hash, from)
		if err != nil {
			return fmt.Errorf("reader %s: %w", id, err)
		}
		named[id] = true
		readers = append(readers, checkpoint.Reader{ID: id, Zone: zone, MaxSilence: silence, Gate: g})
		return nil
	}
	addBarrier := func(b config.Barrier) {
		if named[b.ID] {
			return
		}
		named[b.ID] = true
		barriers = append(barriers, checkpoint.Barrier{ID: b.ID, Zone: b.Zone,
			Controller: checkpoint.HTTPController{URL: b.URL, Header: b.AuthHeader}})
	}
	for _, r := range cp.Readers {
		if err := addReader(r.ID, r.Zone, r.TokenHash(), r.From, r.MaxSilence.Std()); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, b := range cp.Barriers {
		addBarrier(b)
	}
	if s == nil {
		return readers, barriers, parties, nil
	}
	for _, z := range s.Zones {
		if z.Site != a.cfg.Node.ID {
			continue
		}
		for _, r := range z.Readers {
			if err := addReader(r.ID, z.ID, r.TokenSHA256, r.From, time.Duration(r.MaxSilenceSeconds)*time.Second); err != nil {
				return nil, nil, nil, err
			}
		}
		if b := z.Barrier; b != nil {
			addBarrier(config.Barrier{ID: b.ID, Zone: z.ID, URL: b.URL})
			for _, p := range []struct {
				party string
				names []string
			}{{checkpoint.PartyCustoms, b.Customs}, {checkpoint.PartyOwner, b.Owner}} {
				for _, n := range p.names {
					if o, ok := parties[n]; ok && o != p.party {
						return nil, nil, nil, fmt.Errorf("barrier %s: %s grants for %s already", b.ID, n, o)
					}
					parties[n] = p.party
				}
			}
		}
	}
	return readers, barriers, parties, nil
}

// fileDesk configures the desk with the file's section alone.
func (a *Agent) fileDesk() error {
	rs, bs, ps, err := a.deskDevices(nil)
	if err != nil {
		return err
	}
	return a.desk.Configure(rs, bs, ps)
}

// configureDesk applies the catalogue's readers and barriers with the
// file's; a catalogue set-up the desk refuses leaves the file's alone.
func (a *Agent) configureDesk(s *topology.Slice) {
	if a.desk == nil || s == nil {
		return
	}
	rs, bs, ps, err := a.deskDevices(s)
	if err == nil {
		err = a.desk.Configure(rs, bs, ps)
	}
	if err != nil {
		a.log.Error("catalogue readers and barriers refused; the file's stand", "err", err)
		if ferr := a.fileDesk(); ferr != nil && !errors.Is(ferr, err) {
			a.log.Error("checkpoint", "err", ferr)
		}
	}
}
