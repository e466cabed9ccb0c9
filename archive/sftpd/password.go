package sftpd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters of new argon2id hashes: the OWASP minimum for argon2id
// (19 MiB, 2 passes, 1 lane). A login costs tens of milliseconds and 19 MiB
// while it is checked, which concurrent brute force cannot multiply beyond
// the session limit.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Bounds on hashes read from the configuration, so a typo cannot make
// every login allocate gigabytes or spin for minutes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 64
	minArgonSalt      = 8
	minArgonKey       = 16
	maxArgonKey       = 128
)

// HashPassword returns an argon2id hash of pw in PHC string form
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), as accounts take it.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("hash password: the password is empty")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read random salt: %w", err)
	}
	h := argonHash{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: salt}
	h.key = h.derive([]byte(pw), argonKeyLen)
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
		return parseArgon2id(s)
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

type argonHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (h argonHash) derive(pw []byte, keyLen uint32) []byte {
	return argon2.IDKey(pw, h.salt, h.time, h.memory, h.threads, keyLen)
}

func (h argonHash) verify(pw []byte) bool {
	got := h.derive(pw, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h argonHash) cost() string {
	return fmt.Sprintf("argon2id m=%010d t=%03d p=%03d k=%03d", h.memory, h.time, h.threads, len(h.key))
}

func (h argonHash) twin() (passwordHash, error) {
	pw, err := randomPassword()
	if err != nil {
		return nil, err
	}
	d := argonHash{memory: h.memory, time: h.time, threads: h.threads, salt: make([]byte, max(len(h.salt), argonSaltLen))}
	if _, err := rand.Read(d.salt); err != nil {
		return nil, err
	}
	d.key = d.derive(pw, uint32(len(h.key)))
	return d, nil
}

func (h argonHash) String() string {
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.memory, h.time, h.threads, b.EncodeToString(h.salt), b.EncodeToString(h.key))
}

// parseArgon2id reads $argon2id$v=19$m=M,t=T,p=P$salt$hash (salt and hash
// in unpadded standard base64, as the PHC format and the argon2 reference
// tool write them).
func parseArgon2id(s string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errors.New("argon2id password hash: expected $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("argon2id password hash: version %q is not v=%d", parts[2], argon2.Version)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return h, fmt.Errorf("argon2id password hash: bad parameter %q (want m=KiB,t=passes,p=lanes)", kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("argon2id password hash: parameter %s=%q is not a number", k, v)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return h, fmt.Errorf("argon2id password hash: p=%d is above 255", n)
			}
			h.threads = uint8(n)
		default:
			return h, fmt.Errorf("argon2id password hash: unknown parameter %q", k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return h, errors.New("argon2id password hash: parameters m, t and p are all required")
	}
	switch {
	case h.threads < 1:
		return h, errors.New("argon2id password hash: p must be at least 1")
	case h.time < 1 || h.time > maxArgonTime:
		return h, fmt.Errorf("argon2id password hash: t=%d is outside 1..%d", h.time, maxArgonTime)
	case h.memory < 8*uint32(h.threads) || h.memory > maxArgonMemoryKiB:
		return h, fmt.Errorf("argon2id password hash: m=%d KiB is outside %d..%d", h.memory, 8*uint32(h.threads), maxArgonMemoryKiB)
	}
	var err error
	if h.salt, err = decodeB64(parts[4]); err != nil || len(h.salt) < minArgonSalt {
		return h, fmt.Errorf("argon2id password hash: salt is not base64 of at least %d bytes", minArgonSalt)
	}
	if h.key, err = decodeB64(parts[5]); err != nil || len(h.key) < minArgonKey || len(h.key) > maxArgonKey {
		return h, fmt.Errorf("argon2id password hash: hash is not base64 of %d..%d bytes", minArgonKey, maxArgonKey)
	}
	return h, nil
}

// decodeB64 takes the PHC form (no padding) and, leniently, padded base64.
func decodeB64(s string) ([]byte, error) {
	if b, err := base64.RawStdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
