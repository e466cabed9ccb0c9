package auth

import (
	"bytes"
	"testing"
)

func FuzzParseArgon2id(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$p=1,t=2,m=64$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc=")
	f.Add("$argon2id$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseArgon2id(s)
		if err != nil {
			return
		}
		if h.p.Threads < 1 || h.p.Time < 1 || h.p.Time > maxTime || h.p.Memory > maxMemoryKiB ||
			h.p.Memory < 8*uint32(h.p.Threads) || len(h.salt) < minSalt || len(h.key) < minKey || len(h.key) > maxKey {
			t.Fatalf("accepted out-of-bounds hash %q: %+v", s, h)
		}
		// what was accepted prints back to an equivalent hash
		h2, err := ParseArgon2id(h.String())
		if err != nil {
			t.Fatalf("re-parse %q: %v", h.String(), err)
		}
		if h2.p.Memory != h.p.Memory || h2.p.Time != h.p.Time || h2.p.Threads != h.p.Threads ||
			!bytes.Equal(h2.salt, h.salt) || !bytes.Equal(h2.key, h.key) {
			t.Fatalf("round trip changed %+v to %+v", h, h2)
		}
	})
}
