package sftpd

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordVerifies(t *testing.T) {
	h1, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id PHC with the default parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"s3cret pass", true}, {"s3cret pas", false}, {"S3cret pass", false}, {"", false}} {
		ok, err := VerifyPassword(h1, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("an empty password was hashed")
	}
}

// Hashes made by other tools: the argon2 reference CLI writes PHC strings
// (echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -e), htpasswd
// and Python write bcrypt.
func TestVerifyForeignHashes(t *testing.T) {
	// argon2 reference implementation, RFC 9106 style test vector
	ref := "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := VerifyPassword(ref, "password")
	if err != nil || !ok {
		t.Errorf("reference argon2id hash: %v, %v", ok, err)
	}
	if ok, _ := VerifyPassword(ref, "passwore"); ok {
		t.Error("reference argon2id hash accepts a wrong password")
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		h := prefix + string(bc[4:])
		ok, err := VerifyPassword(h, "hunter2")
		if err != nil || !ok {
			t.Errorf("bcrypt %s: %v, %v", prefix, ok, err)
		}
		if ok, _ := VerifyPassword(h, "hunter3"); ok {
			t.Errorf("bcrypt %s accepts a wrong password", prefix)
		}
	}
}

func TestBadPasswordHashesNamed(t *testing.T) {
	for _, tc := range []struct{ hash, want string }{
		{"", "empty"},
		{"plaintext", "expected argon2id"},
		{"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "only the argon2id"},
		{"$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "version"},
		{"$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "m, t and p"},
		{"$argon2id$v=19$m=65536,t=2,p=1,x=3$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "unknown parameter"},
		{"$argon2id$v=19$m=65536,t=2,t=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "bad parameter"},
		{"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "m=99999999"},
		{"$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "t=0"},
		{"$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "p must be"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "salt"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$!!!", "hash is not base64"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ", "expected $argon2id"},
		{"$2b$10$tooshort", "bcrypt"},
	} {
		err := CheckPasswordHash(tc.hash)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckPasswordHash(%q) = %v, want an error naming %q", tc.hash, err, tc.want)
		}
	}
}

// BenchmarkVerifyPassword is the cost of one password login attempt with
// a hash from HashPassword.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("s3cret pass")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := VerifyPassword(h, "s3cret pass"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
