package plates

import (
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// A one-edit search asks the index for each plate one edit away from the
// query — every deletion, and every substitution and insertion of a
// character some indexed plate uses — rather than comparing the query
// with every distinct plate: a thousand lookups against millions of
// comparisons at a national centre. The alphabet is kept as plates are
// indexed (a superset: a character is never forgotten).

// oneEditAway lists the indexed plates within one edit of q, q included.
func oneEditAway(tx *bolt.Tx, q string) []string {
	distinct := tx.Bucket(bucketDistinct)
	var alphabet []rune
	_ = tx.Bucket(bucketAlphabet).ForEach(func(k, _ []byte) error {
		if r, _ := utf8.DecodeRune(k); r != utf8.RuneError {
			alphabet = append(alphabet, r)
		}
		return nil
	})
	seen := map[string]bool{}
	var out []string
	try := func(c string) {
		if seen[c] || c == "" {
			return
		}
		seen[c] = true
		if distinct.Get([]byte(c)) != nil {
			out = append(out, c)
		}
	}
	rs := []rune(q)
	try(q)
	for i := range rs {
		try(string(rs[:i]) + string(rs[i+1:])) // deletion
		for _, a := range alphabet {
			if a != rs[i] {
				try(string(rs[:i]) + string(a) + string(rs[i+1:])) // substitution
			}
		}
	}
	for i := 0; i <= len(rs); i++ {
		for _, a := range alphabet {
			try(string(rs[:i]) + string(a) + string(rs[i:])) // insertion
		}
	}
	return out
}

// learnAlphabet adds a new plate's characters to the alphabet.
func learnAlphabet(tx *bolt.Tx, plate string) error {
	b := tx.Bucket(bucketAlphabet)
	for _, r := range plate {
		k := []byte(string(r))
		if b.Get(k) == nil {
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillAlphabet builds the alphabet of an index written before it was
// kept (once).
func fillAlphabet(tx *bolt.Tx) error {
	if k, _ := tx.Bucket(bucketAlphabet).Cursor().First(); k != nil {
		return nil
	}
	return tx.Bucket(bucketDistinct).ForEach(func(k, _ []byte) error { return learnAlphabet(tx, string(k)) })
}
