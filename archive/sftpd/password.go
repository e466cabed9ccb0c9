package sftpd

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/kuzet/kuzet/auth"
)

// Costs of new argon2id hashes: the OWASP minimum for argon2id (19 MiB,
// 2 passes, 1 lane). A login costs tens of milliseconds and 19 MiB while it
// is checked, which concurrent brute force cannot multiply beyond the
// session limit.
var argonParams = auth.Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// HashPassword returns an argon2id hash of pw in PHC string form
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), as accounts take it.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("hash password: the password is empty")
	}
	h, err := auth.NewArgon2id([]byte(pw), argonParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h.String(), nil
}

// CheckPasswordHash reports whether s is a password hash this server can
// verify (argon2id in PHC form, or bcrypt), naming what is wrong if not.
func CheckPasswordHash(s string) error {
	_, err := parsePasswordHash(s)
	return err
}

// VerifyPassword reports whether pw matches hash. The error is for a
// malformed hash, not for a wrong password.
func VerifyPassword(hash, pw string) (bool, error) {
	h, err := parsePasswordHash(hash)
	if err != nil {
		return false, err
	}
	return h.verify([]byte(pw)), nil
}

type passwordHash interface {
	verify(pw []byte) bool
	// cost names the parameters that set how long verify takes
	cost() string
	// twin hashes a random, forgotten password with the same parameters
	twin() (passwordHash, error)
}

// dummyFor is checked for unknown accounts and for addresses an account
// may not use: a hash of the cost most accounts' hashes have (the
// dearest among equally common ones), so that those answers take as long
// as a real check. Without password accounts it is a default argon2id.
func dummyFor(accounts map[string]*account) (passwordHash, error) {
	count := map[string]int{}
	sample := map[string]passwordHash{}
	for _, a := range accounts {
		if a.password != nil {
			c := a.password.cost()
			count[c]++
			sample[c] = a.password
		}
	}
	best := ""
	for c, n := range count {
		if best == "" || n > count[best] || n == count[best] && c > best {
			best = c
		}
	}
	if best != "" {
		d, err := sample[best].twin()
		if err != nil {
			return nil, fmt.Errorf("dummy password hash: %w", err)
		}
		return d, nil
	}
	h, err := HashPassword("kuzet-unknown-account")
	if err != nil {
		return nil, err
	}
	return parsePasswordHash(h)
}

func randomPassword() ([]byte, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random password: %w", err)
	}
	return []byte(base64.RawStdEncoding.EncodeToString(b)), nil
}

func parsePasswordHash(s string) (passwordHash, error) {
	s = strings.TrimSpace(s) // a hash pasted from a file keeps its newline
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		h, err := auth.ParseArgon2id(s)
		if err != nil {
			return nil, err
		}
		return argonHash{h}, nil
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("bcrypt password hash: %w", err)
		}
		return bcryptHash(s), nil
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"):
		return nil, errors.New("password hash: only the argon2id variant of argon2 is accepted")
	case s == "":
		return nil, errors.New("password hash is empty")
	default:
		return nil, errors.New("password hash: expected argon2id in PHC form ($argon2id$v=19$m=...,t=...,p=...$salt$hash) or bcrypt ($2b$...)")
	}
}

type bcryptHash string

func (h bcryptHash) verify(pw []byte) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), pw) == nil
}

func (h bcryptHash) cost() string {
	c, _ := bcrypt.Cost([]byte(h))
	return fmt.Sprintf("bcrypt cost=%02d", c)
}

func (h bcryptHash) twin() (passwordHash, error) {
	c, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return nil, err
	}
	pw, err := randomPassword()
	if err != nil {
		return nil, err
	}
	b, err := bcrypt.GenerateFromPassword(pw, c)
	if err != nil {
		return nil, err
	}
	return bcryptHash(b), nil
}

// argonHash is an account's argon2id hash, which users' logins share.
type argonHash struct{ auth.Argon2id }

func (h argonHash) verify(pw []byte) bool { return h.Verify(pw) }

func (h argonHash) cost() string {
	p := h.Params()
	return fmt.Sprintf("argon2id m=%010d t=%03d p=%03d k=%03d", p.Memory, p.Time, p.Threads, p.KeyLen)
}

func (h argonHash) twin() (passwordHash, error) {
	pw, err := randomPassword()
	if err != nil {
		return nil, err
	}
	p := h.Params()
	p.SaltLen = max(p.SaltLen, argonParams.SaltLen)
	d, err := auth.NewArgon2id(pw, p)
	if err != nil {
		return nil, err
	}
	return argonHash{d}, nil
}
