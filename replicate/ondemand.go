package replicate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoRoute means no linked child leads to the origin.
var ErrNoRoute = errors.New("no child link leads to that node")

// File is where this node holds origin's segment rel. A descendant's
// segment it does not hold is first pulled from the child leading to it,
// so an ancestor can reach a range kept only at the site (NVMS-6.20).
func (p *Puller) File(origin, rel string) (string, error) {
	p.init()
	path, err := p.Local(origin, rel)
	if err == nil || origin == p.Self {
		return path, err
	}
	f, ok, kerr := p.Queue.KnownPath(origin, rel)
	if kerr != nil || !ok {
		return "", errors.Join(err, kerr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	if err := p.PullNow(ctx, []Fetch{f}); err != nil {
		return "", err
	}
	return p.Local(origin, rel)
}

// PullRange pulls origin's segments of camera overlapping [from, to) that
// this node does not hold yet, ahead of every other fetch, and waits for
// them. It returns how many it pulled.
func (p *Puller) PullRange(ctx context.Context, origin, camera string, from, to time.Time) (int, error) {
	p.init()
	known, err := p.Queue.Known(origin, camera, from, to)
	if err != nil {
		return 0, err
	}
	var missing []Fetch
	for _, f := range known {
		if !p.holds(f.Origin, f.Path) {
			missing = append(missing, f)
		}
	}
	return len(missing), p.PullNow(ctx, missing)
}

// PullNow queues fetches as urgent on the link leading to their origin
// and waits until every one is held here.
func (p *Puller) PullNow(ctx context.Context, fs []Fetch) error {
	if len(fs) == 0 {
		return nil
	}
	for i := range fs {
		child, ok := p.route(fs[i].Origin)
		if !ok {
			return fmt.Errorf("segment %s of %s: %w", fs[i].Path, fs[i].Origin, ErrNoRoute)
		}
		fs[i].Child, fs[i].Urgent, fs[i].Tries = child, true, 0
	}
	if err := p.Queue.Add(fs...); err != nil {
		return err
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for _, f := range fs {
		for !p.holds(f.Origin, f.Path) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("segment %s of %s not fetched in time: %w", f.Path, f.Origin, ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}
