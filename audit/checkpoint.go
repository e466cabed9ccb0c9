package audit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kuzet/kuzet/event"
)

// Retention drops the oldest part of the event log, audit entries with
// it. Before it does, the node records a checkpoint in its own chain: for
// every chain whose entries are about to go, the last of them (its audit
// seq and hash). A chain that then starts later than seq 1 is whole when
// its first entry links to an anchor some checkpoint attests; the
// checkpoint itself is chained and travels up the tree like any entry,
// so the anchor cannot be changed without breaking the chain after it.

// ActionCheckpoint is the entry recorded before the log is compacted.
const ActionCheckpoint = "audit.checkpoint"

// Anchor is the last entry of one chain that a compaction drops.
type Anchor struct {
	Origin string `json:"origin"`
	Inc    uint64 `json:"inc,omitempty"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
}

// AnchorsThrough reads the log up to position through and returns, per
// chain, its last audit entry there: what a compaction through that
// position needs attested.
func AnchorsThrough(l Ranger, through uint64) ([]Anchor, error) {
	last := map[string]Anchor{}
	var order []string
	for after := uint64(0); after < through; {
		batch, err := l.Range(after, 1000)
		if err != nil {
			return nil, fmt.Errorf("audit checkpoint: read the log after %d: %w", after, err)
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			if e.Pos > through {
				break
			}
			if e.Kind != Kind {
				continue
			}
			p, err := decodePayload(e.Payload)
			if err != nil {
				continue // an unreadable entry is verify's to report, not an anchor
			}
			k := event.MarkOf(e).Key()
			if _, ok := last[k]; !ok {
				order = append(order, k)
			}
			if a, ok := last[k]; !ok || p.Seq > a.Seq {
				last[k] = Anchor{Origin: e.Origin, Inc: e.Inc, Seq: p.Seq, Hash: p.Hash}
			}
		}
		after = batch[len(batch)-1].Pos
	}
	out := make([]Anchor, 0, len(order))
	for _, k := range order {
		out = append(out, last[k])
	}
	slices.SortFunc(out, func(a, b Anchor) int { return strings.Compare(a.Origin, b.Origin) })
	return out, nil
}

// Checkpoint records the anchors of a compaction through position
// through in this node's chain. Nothing is recorded without anchors.
func (r *Recorder) Checkpoint(anchors []Anchor, through uint64) error {
	if len(anchors) == 0 {
		return nil
	}
	detail, err := json.Marshal(anchors)
	if err != nil {
		return err
	}
	if len(detail) > maxDetail {
		// an entry is cut at maxDetail; a cut list would attest nothing,
		// so a long one goes in several entries
		half := len(anchors) / 2
		if err := r.Checkpoint(anchors[:half], through); err != nil {
			return err
		}
		return r.Checkpoint(anchors[half:], through)
	}
	_, err = r.Record(Entry{User: "system", Action: ActionCheckpoint,
		Object: fmt.Sprintf("event log through position %d", through), Detail: string(detail)})
	return err
}

// attestation is an anchor's hash and the checkpoint entry that attests it.
type attestation struct {
	hash string
	by   string
}

// attestedAnchors collects the anchors of every checkpoint entry among
// the chains, by chain and audit seq.
func attestedAnchors(chains map[chainKey][]item) map[chainKey]map[uint64]attestation {
	out := map[chainKey]map[uint64]attestation{}
	for _, items := range chains {
		for _, it := range items {
			if it.p.Action != ActionCheckpoint || ChainHash(it.ev.Origin, it.ev.Time, it.p) != it.p.Hash {
				continue
			}
			var anchors []Anchor
			if json.Unmarshal([]byte(it.p.Detail), &anchors) != nil {
				continue
			}
			for _, a := range anchors {
				k := chainKey{a.Origin, a.Inc}
				if out[k] == nil {
					out[k] = map[uint64]attestation{}
				}
				out[k][a.Seq] = attestation{hash: a.Hash, by: it.ev.ID()}
			}
		}
	}
	return out
}
