package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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
	maxThreads   = 64
	minSalt      = 8
	maxSalt      = 64
	minKey       = 16
	maxKey       = 128

	minPasswordLen = 8
	maxPasswordLen = 1024
)

var b64 = base64.RawStdEncoding

// phc is a parsed $argon2id$ PHC string.
type phc struct {
	p    Params
	salt []byte
	key  []byte
}

// parsePHC parses `$argon2id$v=19$m=65536,t=3,p=2$salt$hash` (unpadded
// standard base64), the form the reference implementation and libsodium
// write.
func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, errors.New("password hash: want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("password hash: algorithm %q: only argon2id is accepted", parts[1])
	}
	if parts[2] != "v=19" {
		return h, fmt.Errorf("password hash: version %q: want v=19", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("password hash: parameters %q: want m=…,t=…,p=…", parts[3])
	}
	var m, t, p uint64
	for i, want := range []struct {
		name string
		dst  *uint64
		min  uint64
		max  uint64
	}{{"m", &m, 8, maxMemoryKiB}, {"t", &t, 1, maxTime}, {"p", &p, 1, maxThreads}} {
		k, v, ok := strings.Cut(params[i], "=")
		if !ok || k != want.name {
			return h, fmt.Errorf("password hash: parameter %d is %q: want %s=N", i+1, params[i], want.name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < want.min || n > want.max || (len(v) > 1 && v[0] == '0') {
			return h, fmt.Errorf("password hash: %s=%s: want an integer %d..%d", want.name, v, want.min, want.max)
		}
		*want.dst = n
	}
	if m < 8*p {
		return h, fmt.Errorf("password hash: m=%d is below 8*p=%d", m, 8*p)
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSalt || len(salt) > maxSalt {
		return h, fmt.Errorf("password hash: salt: want %d..%d bytes of unpadded base64", minSalt, maxSalt)
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKey || len(key) > maxKey {
		return h, fmt.Errorf("password hash: hash: want %d..%d bytes of unpadded base64", minKey, maxKey)
	}
	h.p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: len(salt), KeyLen: len(key)}
	h.salt, h.key = salt, key
	return h, nil
}

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		h.p.Memory, h.p.Time, h.p.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// CheckHash reports whether s is an acceptable argon2id PHC string, naming
// what is wrong if not.
func CheckHash(s string) error {
	_, err := parsePHC(s)
	return err
}

// HashPassword hashes a password with DefaultParams into a PHC string.
func HashPassword(password string) (string, error) {
	return HashPasswordParams(password, DefaultParams)
}

// HashPasswordParams hashes with the given costs (cheaper ones are for
// tests; production uses DefaultParams).
func HashPasswordParams(password string, p Params) (string, error) {
	if len(password) < minPasswordLen || len(password) > maxPasswordLen {
		return "", fmt.Errorf("password: want %d..%d bytes, got %d", minPasswordLen, maxPasswordLen, len(password))
	}
	if p.Time < 1 || p.Memory < 8*uint32(max(p.Threads, 1)) || p.Threads < 1 || p.SaltLen < 8 || p.KeyLen < 16 {
		return "", fmt.Errorf("password hash parameters m=%d t=%d p=%d salt=%d key=%d are out of range", p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	}
	h := phc{p: p, salt: make([]byte, p.SaltLen)}
	if _, err := rand.Read(h.salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	h.key = argon2.IDKey([]byte(password), h.salt, p.Time, p.Memory, p.Threads, uint32(p.KeyLen))
	s := h.String()
	// the parser is the judge of what a valid hash is; a hash the node
	// would later refuse must not be handed out
	if _, err := parsePHC(s); err != nil {
		return "", fmt.Errorf("password hash parameters m=%d t=%d p=%d salt=%d key=%d: %w", p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen, err)
	}
	return s, nil
}

// VerifyPassword reports whether password matches the PHC hash, comparing
// in constant time. An error means the hash itself is unusable.
func VerifyPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > maxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// HashCommand is `kuzet user hash`: it reads a password from the first
// line of in (and, when a second line is given, a confirmation that must
// match), then writes its PHC hash and a newline to out. Piping keeps the
// password out of the process list and shell history.
func HashCommand(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(io.LimitReader(in, 2*maxPasswordLen+4))
	sc.Buffer(make([]byte, 0, 256), maxPasswordLen+2)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	if len(lines) == 0 {
		return errors.New("read password: no input (pipe the password on standard input)")
	}
	if len(lines) == 2 && lines[1] != lines[0] {
		return errors.New("read password: the confirmation on the second line does not match")
	}
	h, err := HashPassword(lines[0])
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, h); err != nil {
		return fmt.Errorf("write hash: %w", err)
	}
	return nil
}
