package agent

import (
	"context"

	"github.com/kuzet/kuzet/plates"
)

// runPassages pairs this node's plate reads into plate.passage events by
// the configured rules.
func (a *Agent) runPassages(ctx context.Context) {
	var rules []plates.PassageRule
	for _, p := range a.cfg.ANPR.Passages {
		rules = append(rules, plates.PassageRule{Front: p.Front, Rear: p.Rear, Window: p.Window.Std()})
	}
	plates.RunPassages(ctx, a.events, a.cfg.Node.ID, rules, a.log.With("component", "passages"))
}
