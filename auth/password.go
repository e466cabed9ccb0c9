package auth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds on passwords users may choose.
const (
	minPasswordLen = 8
	maxPasswordLen = 1024
)

// parsePHC parses a user's password hash, which must be in the canonical
// form HashPassword writes: a hash is compared and listed as text, so one
// password hash has one spelling.
func parsePHC(s string) (Argon2id, error) {
	h, err := ParseArgon2id(s)
	if err != nil {
		return h, err
	}
	if c := h.String(); c != s {
		want := strings.Split(c, "$")
		got := strings.Split(s, "$")
		switch {
		case got[3] != want[3]:
			return h, fmt.Errorf("password hash: parameters %q: want m=N,t=N,p=N in that order, without leading zeros", got[3])
		case got[4] != want[4]:
			return h, errors.New("password hash: salt: want unpadded base64")
		default:
			return h, errors.New("password hash: hash: want unpadded base64")
		}
	}
	return h, nil
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
	h, err := NewArgon2id([]byte(password), p)
	if err != nil {
		return "", err
	}
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
	return h.Verify([]byte(password)), nil
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
