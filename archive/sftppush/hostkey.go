package sftppush

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// knownHost is the one host key the target must present.
type knownHost struct {
	key         ssh.PublicKey // nil when only a fingerprint is known
	fingerprint string        // SHA256:...
}

// parseKnownHostKey accepts the target's public key the ways operators
// get hold of it: an authorized_keys/.pub line ("ssh-ed25519 AAAA..."),
// an ssh-keyscan or known_hosts line ("[host]:22 ssh-ed25519 AAAA..."), or
// the fingerprint that ssh-keygen -l prints ("SHA256:...").
func parseKnownHostKey(s string) (knownHost, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return knownHost{}, errors.New("known_host_key is required: take it from the target (ssh-keyscan -p PORT HOST) and compare its fingerprint out of band")
	}
	if fp, ok := strings.CutPrefix(s, "SHA256:"); ok {
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(fp, "="))
		if err != nil || len(b) != 32 || strings.ContainsAny(fp, " \t\n") {
			return knownHost{}, fmt.Errorf("known_host_key %q: a SHA256 fingerprint is SHA256: and 43 base64 characters", s)
		}
		return knownHost{fingerprint: "SHA256:" + base64.RawStdEncoding.EncodeToString(b)}, nil
	}
	if k, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		if len(bytes.TrimSpace(rest)) > 0 {
			return knownHost{}, errors.New("known_host_key: give one key, not several lines")
		}
		return knownHost{key: k, fingerprint: ssh.FingerprintSHA256(k)}, nil
	}
	marker, _, k, _, rest, err := ssh.ParseKnownHosts([]byte(s))
	if err == nil && marker != "" {
		return knownHost{}, fmt.Errorf("known_host_key: a @%s line does not pin a key", marker)
	}
	if err != nil {
		return knownHost{}, fmt.Errorf("known_host_key %q: not a public key line (ssh-ed25519 AAAA...), a known_hosts line or a SHA256: fingerprint", short(s))
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return knownHost{}, errors.New("known_host_key: give one key, not several lines")
	}
	return knownHost{key: k, fingerprint: ssh.FingerprintSHA256(k)}, nil
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ErrHostKey is wrapped by every refusal of the target's host key.
var ErrHostKey = errors.New("host key mismatch")

// callback refuses any host key but the known one.
func (k knownHost) callback(hostport string, _ net.Addr, got ssh.PublicKey) error {
	fp := ssh.FingerprintSHA256(got)
	if k.key != nil {
		if bytes.Equal(got.Marshal(), k.key.Marshal()) {
			return nil
		}
	} else if fp == k.fingerprint {
		return nil
	}
	return fmt.Errorf("%w: %s presented %s %s, but known_host_key is %s; refusing to push (if the target's key changed on purpose, update known_host_key)",
		ErrHostKey, hostport, got.Type(), fp, k.fingerprint)
}

// algorithms asks the server for the key type we know, so a server with
// several host keys presents the pinned one.
func (k knownHost) algorithms() []string {
	if k.key == nil {
		return nil
	}
	switch t := k.key.Type(); t {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	default:
		return []string{t}
	}
}
