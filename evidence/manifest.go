package evidence

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// Format names the package layout and manifest version.
const Format = "kuzet-export/1"

// Names of the package's own members; video files live under VideoDir.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	SignerName    = "signer.pem"
	ReadmeName    = "README.txt"
	VideoDir      = "video/"
)

// Manifest says what a package holds and why it was made.
type Manifest struct {
	Format  string    `json:"format"`
	Node    string    `json:"node"`    // the node that made it
	Created time.Time `json:"created"` // when
	User    string    `json:"user"`    // who asked
	Role    string    `json:"role,omitempty"`
	Reason  string    `json:"reason"`         // why, in the user's words
	Case    string    `json:"case,omitempty"` // a case or file number
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Files   []File    `json:"files"`
	// Signer is "certificate" when signer.pem is the node's federation
	// certificate, "key" when it is a bare public key (a node outside a
	// federation); Fingerprint is the sha256 of its public key (DER).
	Signer      string `json:"signer"`
	Fingerprint string `json:"fingerprint"`
}

// File is one member of the package.
type File struct {
	Name   string    `json:"name"`   // in the zip: video/...
	Camera string    `json:"camera"` // as this node names it: Camera1, site-a/Camera1
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Holes  int       `json:"holes,omitempty"` // gaps the video jumps over
	// Quality is the stream the file holds: main, or sub (an
	// event-recorded camera's sub-stream, where it holds more of the range).
	Quality string `json:"quality,omitempty"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
	// Missing says why a camera asked for has no file (nothing recorded
	// in the range); such an entry has no Name.
	Missing string `json:"missing,omitempty"`
}

// maxManifest bounds a manifest read from a package.
const maxManifest = 4 << 20

// ParseManifest decodes and checks a manifest: the format, the node, and
// every file named once, under VideoDir, with a size and a sha256.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifest {
		return nil, fmt.Errorf("manifest of %d bytes is larger than %d", len(b), maxManifest)
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("manifest: format %q, this verifier reads %q", m.Format, Format)
	}
	if m.Node == "" || m.Created.IsZero() || m.Reason == "" {
		return nil, fmt.Errorf("manifest: node, created and reason are required")
	}
	if m.Signer != "certificate" && m.Signer != "key" {
		return nil, fmt.Errorf("manifest: signer %q is neither certificate nor key", m.Signer)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		if f.Name == "" {
			if f.Missing == "" {
				return nil, fmt.Errorf("manifest: file %d has no name and says nothing is missing", i)
			}
			continue
		}
		if !strings.HasPrefix(f.Name, VideoDir) || path.Clean(f.Name) != f.Name || strings.Contains(f.Name, "..") {
			return nil, fmt.Errorf("manifest: file name %q is not under %s", f.Name, VideoDir)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("manifest: file %q listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Bytes < 0 || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("manifest: file %q needs a size and a sha256", f.Name)
		}
	}
	return &m, nil
}
