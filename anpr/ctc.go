package anpr

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Recogniser output is reduced to nSym symbols per time step: symbol 0 is the
// separator (the CTC blank plus every class that is not a plate character,
// such as spaces, dashes and the script the model also knows), 1..10 are the
// digits and 11..36 the letters A–Z (lower case folded in).
const nSym = 37

const symbols = "_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func symOf(c byte) int { return strings.IndexByte(symbols, c) }

// symMap tells, for each recogniser class, which symbol it contributes to.
func symMap(dict []string, classes int) []uint8 {
	m := make([]uint8, classes)
	for i := 1; i <= len(dict) && i < classes; i++ {
		if c, ok := plateChar(dict[i-1]); ok {
			m[i] = uint8(symOf(c))
		}
	}
	return m
}

// twinGlyphs are classes of the recogniser's other scripts that are drawn
// like a plate character: a dotted or slashed zero comes out as θ, a round
// one as 〇 or Greek omicron.
var twinGlyphs = map[rune]byte{
	'〇': 'O', '○': 'O', 'Ο': 'O', 'ο': 'O', 'θ': '0', 'Θ': '0',
	'З': '3', 'β': 'B',
}

// plateChar is the plate character a recogniser class stands for: ASCII
// letters and digits (lower case folded), their full-width and circled
// forms and accented letters (the model splits one glyph's probability
// between such twins, so a character read as Ｏ 0.17 and O 0.38 would
// otherwise lose to the separator), and the look-alikes above.
func plateChar(class string) (byte, bool) {
	r, n := utf8.DecodeRuneInString(class)
	if n == 0 || n != len(class) {
		return 0, false
	}
	if c, ok := twinGlyphs[r]; ok {
		return c, true
	}
	var base []byte
	for _, d := range norm.NFKD.String(class) {
		if unicode.Is(unicode.Mn, d) {
			continue // an accent
		}
		if d >= utf8.RuneSelf {
			return 0, false
		}
		base = append(base, byte(d))
	}
	if len(base) != 1 {
		return 0, false
	}
	c := base[0]
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	return c, symOf(c) > 0
}

// logProbs is one recognised row reduced to plate symbols: lp[t][k] is the
// log probability of symbol k at time step t.
type logProbs [][nSym]float32

func reduceProbs(out []float32, steps, classes int, m []uint8) logProbs {
	lp := make(logProbs, steps)
	for t := 0; t < steps; t++ {
		var p [nSym]float32
		row := out[t*classes : (t+1)*classes]
		for i, v := range row {
			p[m[i]] += v
		}
		for k := range p {
			lp[t][k] = float32(math.Log(float64(max(p[k], 1e-12))))
		}
	}
	return lp
}

// sliverOdds is the log factor by which a character's odds against the
// separator are lowered where the line's geometry says there is no glyph,
// only the edge of a band (cleanLine's slivers): a glyph read at 0.99 stays
// one, a stroke read at 0.6 becomes a gap.
const sliverOdds = float32(-1.5)

// discountChars lowers every character's probability in one step by the
// factor e^odds and renormalises with the separator.
func discountChars(row [nSym]float32, odds float32) [nSym]float32 {
	sum := math.Exp(float64(row[0]))
	for k := 1; k < nSym; k++ {
		row[k] += odds
		sum += math.Exp(float64(row[k]))
	}
	ls := float32(math.Log(sum))
	for k := range row {
		row[k] -= ls
	}
	return row
}

// joinRows concatenates two rows (top, then bottom) with a separator step so a
// two-row plate decodes as one string.
func joinRows(top, bottom logProbs) logProbs {
	var sep [nSym]float32
	for k := range sep {
		sep[k] = -30
	}
	sep[0] = 0
	out := make(logProbs, 0, len(top)+len(bottom)+1)
	out = append(out, top...)
	out = append(out, sep)
	return append(out, bottom...)
}

// decoded is one decoding of a row: the text, each character's probability
// and the log probability of the best CTC path that produced it.
type decoded struct {
	text  string
	probs []float32
	logp  float32
	// spans (greedy only) are each character's first and last step.
	spans [][2]int
	// onChar (constrained only) marks the steps the path spends on a
	// character of the plate string.
	onChar []bool
}

// confidence is the geometric mean of the character probabilities.
func (d decoded) confidence() float64 {
	if len(d.probs) == 0 {
		return 0
	}
	s := 0.0
	for _, p := range d.probs {
		s += math.Log(float64(max(p, 1e-9)))
	}
	return math.Exp(s / float64(len(d.probs)))
}

// greedy is best-path CTC decoding without constraints.
func greedy(lp logProbs) decoded {
	var d decoded
	prev := 0
	var b []byte
	for t, row := range lp {
		k, best := 0, row[0]
		for j := 1; j < nSym; j++ {
			if row[j] > best {
				k, best = j, row[j]
			}
		}
		d.logp += best
		if k != 0 {
			p := float32(math.Exp(float64(best)))
			if k != prev {
				b = append(b, symbols[k])
				d.probs = append(d.probs, p)
				d.spans = append(d.spans, [2]int{t, t})
			} else {
				d.spans[len(d.spans)-1][1] = t
				if p > d.probs[len(d.probs)-1] {
					d.probs[len(d.probs)-1] = p
				}
			}
		}
		prev = k
	}
	d.text = string(b)
	return d
}

// lookAlikePairs are the characters a recogniser confuses across the
// letter/digit divide, with the log cost of reading one as the other where a
// format demands the other class. O/0 and I/1 are the same glyph in many
// plate fonts and cost least; B/8, S/5 and Z/2 differ in a stroke; G/6, A/4,
// E/3, U/0 and L/1 differ more, so a confident reading of one is seldom the
// other and a format needs other evidence to overrule it.
var lookAlikePairs = []struct {
	letter, digit byte
	cost          float32
}{
	{'O', '0', 1.0}, {'I', '1', 1.0},
	{'Q', '0', 1.5}, {'D', '0', 1.5}, {'B', '8', 1.5},
	{'S', '5', 2.0}, {'Z', '2', 2.0}, {'J', '1', 2.0}, {'T', '1', 2.0},
	{'G', '6', 2.5}, {'A', '4', 2.5}, {'E', '3', 2.5}, {'U', '0', 2.5}, {'L', '1', 2.5},
}

// withLookAlikes returns, for each step, the evidence for each symbol when
// the recogniser's probability of its look-alikes counts too, discounted by
// the pair's cost: a format that needs a letter where the model saw 0 pays
// the cost of the swap, not the whole improbability of O.
func withLookAlikes(lp logProbs) logProbs {
	out := make(logProbs, len(lp))
	for t := range lp {
		out[t] = lp[t]
		for k := 1; k < nSym; k++ {
			if len(lookAlikes[k]) == 0 {
				continue
			}
			// The symbol's own probability plus its look-alikes' at the
			// swap cost, so that among several letters a 0 could be (O, D,
			// Q) the one the model itself rates higher wins.
			p := math.Exp(float64(lp[t][k]))
			for _, a := range lookAlikes[k] {
				p += math.Exp(float64(lp[t][a.sym] - a.cost))
			}
			out[t][k] = float32(math.Log(p))
		}
	}
	return out
}

type lookAlike struct {
	sym  int
	cost float32
}

// lookAlikes lists, per symbol, the symbols that may stand for it.
var lookAlikes = func() [nSym][]lookAlike {
	var la [nSym][]lookAlike
	for _, p := range lookAlikePairs {
		l, d := symOf(p.letter), symOf(p.digit)
		la[l] = append(la[l], lookAlike{d, p.cost})
		la[d] = append(la[d], lookAlike{l, p.cost})
	}
	return la
}()

// symSet is a set of symbols, bit k for symbol k.
type symSet uint64

func formatSets(format, letters, series string) []symSet {
	sets := make([]symSet, len(format))
	for i := 0; i < len(format); i++ {
		for k := 1; k < nSym; k++ {
			if fitsClass(symbols[k], format[i], letters, series) {
				sets[i] |= 1 << k
			}
		}
	}
	return sets
}

const negInf = float32(-1e30)

// constrained is best-path CTC decoding restricted to strings of the given
// per-position symbol sets (a plate format). Steps before the first and after
// the last character may be spent on "junk" (a country band, an emblem, a
// frame's text), each non-separator junk step costing junkPenalty (a log
// probability) on top of its best symbol, so that faint text next to the
// plate can be dropped but not for free. A step whose best symbol is a
// character with log probability above junkKeep is never junk.
func constrained(lp logProbs, sets []symSet, junkPenalty float32) (decoded, bool) {
	n := len(sets)
	T := len(lp)
	if n == 0 || T < n {
		return decoded{}, false
	}
	// State layout: 0 prefix junk, 1 suffix junk, 2+j separator after j
	// characters (j = 0..n), then char states for position j (1..n) and
	// symbol k (1..36).
	const nc = nSym - 1
	bOff := 2
	cOff := bOff + n + 1
	S := cOff + n*nc
	cs := func(j, k int) int { return cOff + (j-1)*nc + (k - 1) }
	cur := make([]float32, S)
	next := make([]float32, S)
	for i := range cur {
		cur[i] = negInf
	}
	cur[0] = 0
	back := make([]int16, T*S)
	for t := 0; t < T; t++ {
		row := &lp[t]
		bp := back[t*S : (t+1)*S]
		for i := range next {
			next[i] = negInf
		}
		// Junk value of this step: its best symbol, penalised unless separator.
		jk, jv := 0, row[0]
		for k := 1; k < nSym; k++ {
			if row[k] > jv {
				jk, jv = k, row[k]
			}
		}
		if jk != 0 {
			if jv > junkKeep {
				jv = negInf // a confident character is never junk
			} else {
				jv += junkPenalty
			}
		}
		// Prefix junk.
		next[0], bp[0] = cur[0]+jv, 0
		// Separators.
		for j := 0; j <= n; j++ {
			best, from := cur[bOff+j], bOff+j
			if j == 0 && cur[0] > best {
				best, from = cur[0], 0
			}
			if j > 0 {
				for k := 1; k < nSym; k++ {
					if v := cur[cs(j, k)]; v > best {
						best, from = v, cs(j, k)
					}
				}
			}
			if best > negInf {
				next[bOff+j], bp[bOff+j] = best+row[0], int16(from)
			}
		}
		// Characters.
		for j := 1; j <= n; j++ {
			// Best and second best char state of position j-1 to allow a
			// direct change of symbol without a separator.
			b1, b1k, b2 := negInf, -1, negInf
			if j > 1 {
				for k := 1; k < nSym; k++ {
					v := cur[cs(j-1, k)]
					if v > b1 {
						b2 = b1
						b1, b1k = v, k
					} else if v > b2 {
						b2 = v
					}
				}
			}
			enter, enterFrom := cur[bOff+j-1], bOff+j-1
			if j == 1 && cur[0] > enter {
				enter, enterFrom = cur[0], 0
			}
			for k := 1; k < nSym; k++ {
				if sets[j-1]&(1<<k) == 0 {
					continue
				}
				best, from := cur[cs(j, k)], cs(j, k)
				if enter > best {
					best, from = enter, enterFrom
				}
				if j > 1 {
					if b1k != k && b1 > best {
						best, from = b1, cs(j-1, b1k)
					} else if b1k == k && b2 > best {
						// Find the second best's index.
						for k2 := 1; k2 < nSym; k2++ {
							if k2 != k && cur[cs(j-1, k2)] == b2 {
								best, from = b2, cs(j-1, k2)
								break
							}
						}
					}
				}
				if best > negInf {
					next[cs(j, k)], bp[cs(j, k)] = best+row[k], int16(from)
				}
			}
		}
		// Suffix junk.
		best, from := cur[1], 1
		if v := cur[bOff+n]; v > best {
			best, from = v, bOff+n
		}
		for k := 1; k < nSym; k++ {
			if v := cur[cs(n, k)]; v > best {
				best, from = v, cs(n, k)
			}
		}
		if best > negInf {
			next[1], bp[1] = best+jv, int16(from)
		}
		cur, next = next, cur
	}
	end, endV := 1, cur[1]
	if v := cur[bOff+n]; v > endV {
		end, endV = bOff+n, v
	}
	for k := 1; k < nSym; k++ {
		if v := cur[cs(n, k)]; v > endV {
			end, endV = cs(n, k), v
		}
	}
	if endV <= negInf/2 {
		return decoded{}, false
	}
	// Walk back, collecting each position's symbol and best step probability.
	syms := make([]byte, n)
	probs := make([]float32, n)
	onChar := make([]bool, T)
	s := end
	for t := T - 1; t >= 0; t-- {
		if s >= cOff {
			onChar[t] = true
			j := (s-cOff)/nc + 1
			k := (s-cOff)%nc + 1
			syms[j-1] = symbols[k]
			if p := float32(math.Exp(float64(lp[t][k]))); p > probs[j-1] {
				probs[j-1] = p
			}
		}
		s = int(back[t*S+s])
	}
	return decoded{text: string(syms), probs: probs, logp: endV, onChar: onChar}, true
}

// dropsSure reports whether a constrained decoding leaves out a character
// the free reading is sure of (probability above keep at its peak): none of
// that character's steps is spent on a character of the format. CTC lets a
// path turn a character into a separator for the cost of the separator's
// probability at those steps, which for a character read at 0.6 is cheap;
// a grammar may re-rank or swap look-alikes, never cut a sure character.
func dropsSure(free, d decoded, keep float32) bool {
	for i, sp := range free.spans {
		if free.probs[i] < keep {
			continue
		}
		covered := false
		for t := sp[0]; t <= sp[1] && t < len(d.onChar); t++ {
			if d.onChar[t] {
				covered = true
				break
			}
		}
		if !covered {
			return true
		}
	}
	return false
}
