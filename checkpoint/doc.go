// Package checkpoint is the crossing's own process on top of the event
// log: zones, and the visits of vehicles through them (UA-3.1, UA-3.3).
//
// A site's tracker (RunVisits) turns its own sightings — plate.passage
// events (tractor front + trailer rear) and the plate.read events of
// cameras outside any passage rule — at cameras assigned to zones into
// visit.opened, visit.passage and visit.closed events: the entry zone
// opens a visit, each zone appends to it, the exit closes it. Every node
// (site, region, centre) keeps a visit index (Index) of the visit events
// that reach its log, its own and its subtree's, answering
// GET /api/v1/visits.
//
// Each visit's stays per zone give the dwell times (UA-3.3.2): per visit,
// summarised per zone and hour, and a zone's limit raises dwell_exceeded
// for a vehicle over it. A forbidden zone, and a zone vehicles must reach
// in time, make violations (UA-3.4): alarms that go up the urgent path.
//
// A site's desk (Desk) runs its pass tokens and exit barriers (UA-3.2,
// UA-3.4.6): a card presented at the entry's reader is bound to the
// vehicle read there, checked at every other reader against the plates
// read there, and a mismatch is a case with a bounded number of attempts
// that blocks the card; an exit barrier opens once customs and the site
// owner have both granted the visit's exit. Readers, operators and the
// parties' systems say things through the API; the desk decides one thing
// at a time and every decision is an event first.
//
// The log is the only truth: the index is rebuilt from it when its file is
// lost, and the tracker, after a kill at any step, finds in the index the
// sightings it already filed, so a step is neither lost nor filed twice.
//
// It may import event and plates; it may not import anpr, api, agent,
// federation, site, archive or topology (internal/layers).
package checkpoint
