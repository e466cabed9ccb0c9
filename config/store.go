package config

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// Store is where a parent tier keeps its children's segments: the archive
// disk (type "" or "local", the default) or S3-compatible object storage
// shared by the replicas of the tier (docs/storage.md).
type Store struct {
	Type      string `yaml:"type"`     // local | s3
	Endpoint  string `yaml:"endpoint"` // host:port
	Bucket    string `yaml:"bucket"`
	Prefix    string `yaml:"prefix"` // keys under it, e.g. the tier's name
	Region    string `yaml:"region"`
	AccessKey string `yaml:"access_key"`
	// SecretKey, or better SecretKeyFile: a file only the node may read
	// holding the secret, so the configuration holds none.
	SecretKey     string   `yaml:"secret_key"`
	SecretKeyFile string   `yaml:"secret_key_file"`
	TLS           bool     `yaml:"tls"`
	CA            string   `yaml:"ca"`      // PEM of the CA that signs the endpoint (default: the system's)
	PartMB        int      `yaml:"part_mb"` // multipart part size, 5 to 5120 (default 8)
	Sync          Duration `yaml:"sync"`    // how often the tier's journal is read (default 15s)
}

// S3 reports whether the store is object storage.
func (s Store) S3() bool { return s.Type == "s3" }

// Secret reads the secret key from the file named, or returns the inline
// one.
func (s Store) Secret() (string, error) {
	if s.SecretKeyFile == "" {
		return s.SecretKey, nil
	}
	b, err := os.ReadFile(s.SecretKeyFile)
	if err != nil {
		return "", fmt.Errorf("archive.store.secret_key_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (c *Config) validateStore(bad func(key, format string, args ...any) error) error {
	s := &c.Archive.Store
	switch s.Type {
	case "", "local":
		return nil
	case "s3":
	default:
		return bad("archive.store.type", "must be local or s3 (got %q)", s.Type)
	}
	if c.Federation.Listen == "" {
		return bad("archive.store.type", "s3 keeps the replicas of a parent tier: it needs federation.listen")
	}
	if _, port, err := net.SplitHostPort(s.Endpoint); err != nil || port == "" {
		return bad("archive.store.endpoint", "must be host:port, e.g. s3.example.org:443 (got %q)", s.Endpoint)
	}
	if s.Bucket == "" {
		return bad("archive.store.bucket", "required with type s3")
	}
	if strings.Contains(s.Prefix, "..") || strings.HasPrefix(s.Prefix, ".") {
		return bad("archive.store.prefix", "must not start with . or hold .. (got %q)", s.Prefix)
	}
	if s.AccessKey == "" {
		return bad("archive.store.access_key", "required with type s3")
	}
	switch {
	case s.SecretKey != "" && s.SecretKeyFile != "":
		return bad("archive.store.secret_key", "give secret_key or secret_key_file, not both")
	case s.SecretKey == "" && s.SecretKeyFile == "":
		return bad("archive.store.secret_key_file", "required with type s3 (a file only the node may read)")
	case s.SecretKeyFile != "":
		st, err := os.Stat(s.SecretKeyFile)
		if err != nil {
			return bad("archive.store.secret_key_file", "%v", err)
		}
		if st.Mode().Perm()&0o007 != 0 {
			return bad("archive.store.secret_key_file", "%s may be read by anyone (mode %v): chmod o-rwx", s.SecretKeyFile, st.Mode().Perm())
		}
	}
	if s.CA != "" {
		if _, err := os.Stat(s.CA); err != nil {
			return bad("archive.store.ca", "%v", err)
		}
	}
	if s.PartMB == 0 {
		s.PartMB = 8
	}
	if s.PartMB < 5 || s.PartMB > 5120 {
		return bad("archive.store.part_mb", "must be between 5 and 5120, as S3 takes parts (got %d)", s.PartMB)
	}
	if s.Sync < 0 {
		return bad("archive.store.sync", "must not be negative")
	}
	return nil
}
