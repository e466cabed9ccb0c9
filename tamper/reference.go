package tamper

import (
	"math"
	"slices"
	"time"
)

// minLearnFrames is the fewest good frames a reference is learned from.
const minLearnFrames = 3

// reference is what a camera's scene normally looks like: the mean of its
// edge picture's grey source, its usual sharpness and how much of it
// usually matches (moving vehicles never let all of it match).
type reference struct {
	w, h    int
	grey    []float32
	edges   []float32 // Laplacian of grey, kept in step with it
	sharp   float64
	match   float64
	learned bool

	// while learning
	start  time.Time
	n      int
	sharps []float64
	shares []float64
	// when the reference last followed the scene
	adapted time.Time
}

func newReference(f *features, at time.Time) *reference {
	return &reference{w: f.ew, h: f.eh, grey: slices.Clone(f.small), start: at, n: 1, sharps: []float64{f.sharpness}}
}

// fits reports whether f has the reference's size.
func (r *reference) fits(f *features) bool { return r.w == f.ew && r.h == f.eh }

// learn adds a good frame; it reports true when learning has just ended.
func (r *reference) learn(f *features, at time.Time, learn time.Duration) bool {
	// how well a frame matches the mean of the frames before it is what
	// "usually matches" means once learning is over
	r.shares = append(r.shares, matchShare(f.edges, laplacian(r.grey, r.w, r.h), r.w, r.h))
	r.sharps = append(r.sharps, f.sharpness)
	r.n++
	k := float32(1) / float32(r.n)
	for i, v := range f.small {
		r.grey[i] += (v - r.grey[i]) * k
	}
	if at.Sub(r.start) < learn || r.n < minLearnFrames {
		return false
	}
	r.sharp = median(r.sharps)
	r.match = median(r.shares)
	r.edges = laplacian(r.grey, r.w, r.h)
	r.learned = true
	r.sharps, r.shares = nil, nil
	r.adapted = at
	return true
}

// adapt moves the reference a little towards a good frame: by dt/tau,
// so that it follows what changes over many times tau and ignores what
// passes by.
func (r *reference) adapt(f *features, share float64, at time.Time, tau time.Duration) {
	dt := at.Sub(r.adapted)
	r.adapted = at
	if dt <= 0 {
		return
	}
	// a long pause (camera offline) must not snap the reference to one frame
	a := min(dt.Seconds(), 10) / tau.Seconds()
	if a <= 0 {
		return
	}
	a = min(a, 1)
	for i, v := range f.small {
		r.grey[i] += (v - r.grey[i]) * float32(a)
	}
	r.edges = laplacian(r.grey, r.w, r.h)
	if f.sharpness > 0 && r.sharp > 0 {
		r.sharp = math.Exp(math.Log(r.sharp) + a*(math.Log(f.sharpness)-math.Log(r.sharp)))
	}
	r.match += a * (share - r.match)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
