// Package plates owns plate reads once they are read: the plate.read and
// plate.passage payloads, the pairing of two cameras' reads into passages,
// where snapshots are kept, and the plate index: every plate read this node
// holds (its own and its subtree's), searchable by exact plate, prefix, one
// edit and time range without walking the event log; operators'
// corrections, which re-file a read under its corrected plate; and the
// uncertain-reads queue, the unreviewed reads whose confidence is below the
// node's threshold. Its Handlers answer the HTTP API's plate routes and the
// plate events cameras post; the API only mounts them.
//
// It may not import anpr (which needs cgo and imports plates for these
// types), api or agent.
package plates
