package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id costs. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  int
}

// DefaultParams: 64 MiB, 3 passes, 2 lanes, as RFC 9106 suggests for
// memory-constrained servers.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Bounds on hashes accepted from configuration: a hash is verified on every
// login, so an absurd cost in a config file must not become a denial of
// service.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSalt      = 8
	minKey       = 16
	maxKey       = 128
)

// Argon2id is a password hash in PHC string form, the one hasher of user
// and SFTP account passwords.
type Argon2id struct {
	p    Params
	salt []byte
	key  []byte
}

// NewArgon2id hashes password with costs p and a random salt.
func NewArgon2id(password []byte, p Params) (Argon2id, error) {
	if p.Time < 1 || p.Memory < 8*uint32(max(p.Threads, 1)) || p.Threads < 1 || p.SaltLen < minSalt || p.KeyLen < minKey {
		return Argon2id{}, fmt.Errorf("password hash parameters m=%d t=%d p=%d salt=%d key=%d are out of range", p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	}
	h := Argon2id{p: p, salt: make([]byte, p.SaltLen)}
	if _, err := rand.Read(h.salt); err != nil {
		return Argon2id{}, fmt.Errorf("password salt: %w", err)
	}
	h.key = h.derive(password, uint32(p.KeyLen))
	return h, nil
}

// Params are the hash's costs, salt and key lengths.
func (h Argon2id) Params() Params { return h.p }

func (h Argon2id) derive(password []byte, keyLen uint32) []byte {
	return argon2.IDKey(password, h.salt, h.p.Time, h.p.Memory, h.p.Threads, keyLen)
}

// Verify reports whether password matches, comparing in constant time.
func (h Argon2id) Verify(password []byte) bool {
	return subtle.ConstantTimeCompare(h.derive(password, uint32(len(h.key))), h.key) == 1
}

// String is the canonical PHC form: parameters in the order m, t, p and
// unpadded base64.
func (h Argon2id) String() string {
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		h.p.Memory, h.p.Time, h.p.Threads, b.EncodeToString(h.salt), b.EncodeToString(h.key))
}

// ParseArgon2id reads `$argon2id$v=19$m=65536,t=3,p=2$salt$hash` as the
// reference implementation, libsodium and this package write it. It also
// reads what other tools write: the parameters in any order, and salt and
// hash in padded base64.
func ParseArgon2id(s string) (Argon2id, error) {
	var h Argon2id
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, errors.New("password hash: not the expected $argon2id$ PHC string; want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("password hash: algorithm %q: only argon2id is accepted", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("password hash: version %q: want v=%d", parts[2], argon2.Version)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return h, fmt.Errorf("password hash: bad parameter %q (want m=KiB,t=passes,p=lanes)", kv)
		}
		seen[k] = true
		bounds, known := map[string][2]uint64{"m": {8, maxMemoryKiB}, "t": {1, maxTime}, "p": {1, 255}}[k]
		if !known {
			return h, fmt.Errorf("password hash: unknown parameter %q", k)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if k == "p" && err == nil && n == 0 {
			return h, errors.New("password hash: p must be at least 1")
		}
		if err != nil || n < bounds[0] || n > bounds[1] {
			return h, fmt.Errorf("password hash: %s=%s: want an integer %d..%d", k, v, bounds[0], bounds[1])
		}
		switch k {
		case "m":
			h.p.Memory = uint32(n)
		case "t":
			h.p.Time = uint32(n)
		case "p":
			h.p.Threads = uint8(n)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return h, errors.New("password hash: parameters m, t and p are all required")
	}
	if h.p.Memory < 8*uint32(h.p.Threads) {
		return h, fmt.Errorf("password hash: m=%d is below 8*p=%d", h.p.Memory, 8*uint32(h.p.Threads))
	}
	var err error
	if h.salt, err = decodeB64(parts[4]); err != nil || len(h.salt) < minSalt {
		return h, fmt.Errorf("password hash: salt: want at least %d bytes of base64", minSalt)
	}
	if h.key, err = decodeB64(parts[5]); err != nil || len(h.key) < minKey || len(h.key) > maxKey {
		return h, fmt.Errorf("password hash: hash: want %d..%d bytes of base64; this hash is not base64 of that length", minKey, maxKey)
	}
	h.p.SaltLen, h.p.KeyLen = len(h.salt), len(h.key)
	return h, nil
}

// decodeB64 takes the PHC form (no padding) and, leniently, padded base64.
func decodeB64(s string) ([]byte, error) {
	if b, err := base64.RawStdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
