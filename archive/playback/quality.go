package playback

import (
	"time"
)

// Qualities a range is played or exported in (?quality=): an
// event-recorded camera has its main stream around events and its
// sub-stream (camera~sub) throughout.
const (
	QualityBest = "best" // main where recorded, the sub-stream between
	QualityMain = "main"
	QualitySub  = "sub"
)

// minFill is the shortest hole in the main stream worth filling from the
// sub-stream: below it the switch costs more than it shows.
const minFill = time.Second

// uncovered lists the parts of [from, to) that no piece covers, longer
// than minFill.
func uncovered(pieces []piece, from, to time.Time) [][2]time.Time {
	ps := append([]piece(nil), pieces...)
	sortPieces(ps)
	var holes [][2]time.Time
	at := from
	for _, p := range ps {
		if p.Start.Sub(at) > minFill {
			holes = append(holes, [2]time.Time{at, p.Start})
		}
		if end := p.Start.Add(p.Duration); end.After(at) {
			at = end
		}
	}
	if to.Sub(at) > minFill {
		holes = append(holes, [2]time.Time{at, to})
	}
	return holes
}

// covered is how much of the range a plan's pieces play.
func (pl *plan) covered() time.Duration {
	var d time.Duration
	for _, p := range pl.Pieces {
		d += p.Duration
	}
	return d
}

// qualities names the qualities a plan plays, in order of first use:
// "main", "sub" or "main,sub".
func (pl *plan) qualities() string {
	var main, sub bool
	for _, p := range pl.Pieces {
		main = main || p.Quality == QualityMain
		sub = sub || p.Quality == QualitySub
	}
	switch {
	case main && sub:
		return QualityMain + "," + QualitySub
	case sub:
		return QualitySub
	}
	return QualityMain
}
