package auth

import (
	"bytes"
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "correct horse battery "); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	h1, _ := HashPasswordParams("correct horse battery", cheap)
	h2, _ := HashPasswordParams("correct horse battery", cheap)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	// a hash written by another argon2id implementation (RFC 9106 form)
	ref, err := HashPasswordParams("another-password", Params{Memory: 4096, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := VerifyPassword(ref, "another-password"); !ok {
		t.Fatal("non-default parameters not honoured")
	}
	if _, err := HashPassword("short"); err == nil || !strings.Contains(err.Error(), "8..1024") {
		t.Fatalf("short password: %v", err)
	}
}

func TestParsePHCErrors(t *testing.T) {
	good, _ := HashPasswordParams("some-password", cheap)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, tc := range []struct{ in, msg string }{
		{"", "want $argon2id$"},
		{"plaintext", "want $argon2id$"},
		{"$2a$10$abcdefghijklmnopqrstuv", "want $argon2id$"},
		{"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, `algorithm "argon2i"`},
		{"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, `version "v=16"`},
		{"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, "want m=N"},
		{"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, "t=0"},
		{"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, "m=99999999"},
		{"$argon2id$v=19$m=16,t=1,p=4$" + salt + "$" + key, "below 8*p"},
		{"$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key, "salt"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key, "salt"},
		{"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:10], "hash: want"},
		{"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key, "m=064"},
	} {
		err := CheckHash(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.in, err, tc.msg)
		}
		if ok, _ := VerifyPassword(tc.in, "some-password"); ok {
			t.Errorf("%q verified", tc.in)
		}
	}
	if err := CheckHash(good); err != nil {
		t.Fatal(err)
	}
}

func TestHashCommand(t *testing.T) {
	var out bytes.Buffer
	if err := HashCommand(strings.NewReader("s3cret-passphrase\r\ns3cret-passphrase\r\n"), &out); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSuffix(out.String(), "\n")
	if ok, err := VerifyPassword(h, "s3cret-passphrase"); !ok || err != nil {
		t.Fatalf("hash from the command does not verify: %q %v", h, err)
	}
	out.Reset()
	if err := HashCommand(strings.NewReader("only-one-line"), &out); err != nil || out.Len() == 0 {
		t.Fatalf("single line: %v", err)
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "no input"},
		{"first-password\nsecond-password\n", "does not match"},
		{"short\n", "8..1024"},
		{strings.Repeat("x", 3000), "read password"},
	} {
		if err := HashCommand(strings.NewReader(tc.in), &out); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("input %.20q: %v, want an error mentioning %q", tc.in, err, tc.msg)
		}
	}
}

func TestNewUserAndStore(t *testing.T) {
	h, _ := HashPasswordParams("some-password", cheap)
	u, err := NewUser("ops.1", "operator", h, []string{"10.1.0.0/16", "192.0.2.7", "::1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Allow) != 3 || u.Allow[1].Bits() != 32 || u.Role != RoleOperator {
		t.Fatalf("user %+v", u)
	}
	for _, tc := range []struct {
		name, role, hash string
		allow            []string
		msg              string
	}{
		{"", "viewer", h, nil, "user name"},
		{"a:b", "viewer", h, nil, "only letters"},
		{"bob", "root", h, nil, `role "root"`},
		{"bob", "viewer", "secret", nil, "password_hash"},
		{"bob", "viewer", h, []string{"10.0.0.0/33"}, `allow: [0] "10.0.0.0/33"`},
		{"bob", "viewer", h, []string{"10.0.0.1", "nowhere"}, `[1] "nowhere"`},
	} {
		if _, err := NewUser(tc.name, tc.role, tc.hash, tc.allow, false); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewUser(%q, %q): %v, want %q", tc.name, tc.role, err, tc.msg)
		}
	}
	if _, err := NewMemStore(u, u); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate users: %v", err)
	}
	s, _ := NewMemStore(u)
	got, _ := s.User("ops.1")
	got.Allow[0] = got.Allow[2]
	if again, _ := s.User("ops.1"); again.Allow[0] == again.Allow[2] {
		t.Fatal("store hands out its own slices")
	}
	if r, err := ParseRole("engineer"); err != nil || !r.AtLeast(RoleOperator) || r.AtLeast(RoleAdmin) || Role(0).AtLeast(RoleViewer) {
		t.Fatal("role order")
	}
}

func FuzzParsePHC(f *testing.F) {
	good, _ := HashPasswordParams("some-password", cheap)
	f.Add(good)
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$")
	f.Add("$argon2id$v=19$m=,t=,p=$x$y")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		// what parses is canonical: printing it gives back the input
		if h.String() != s {
			t.Fatalf("parsed %q prints as %q", s, h.String())
		}
		if h.p.Memory < 8*uint32(h.p.Threads) || h.p.Memory > maxMemoryKiB || h.p.Time < 1 || len(h.key) < minKey {
			t.Fatalf("out-of-bounds parameters accepted: %+v", h.p)
		}
	})
}
