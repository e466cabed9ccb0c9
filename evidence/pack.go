package evidence

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Member is a video file to pack: its manifest entry (Name, Camera, times)
// and where it is on disk. Write fills in its size and sha256.
type Member struct {
	File File
	Path string
}

// Write packs the members under m, signed by s, into w. The manifest's
// files are the members (sizes and hashes taken from the files as packed)
// and the entries already in m.Files (cameras with nothing recorded).
func Write(w io.Writer, m Manifest, members []Member, s Signer) error {
	m.Format = Format
	m.Signer = s.Kind
	fp, err := Fingerprint(s.Key.Public())
	if err != nil {
		return err
	}
	m.Fingerprint = fp
	files := make([]File, 0, len(members)+len(m.Files))
	for _, mb := range members {
		f := mb.File
		if f.Bytes, f.SHA256, err = hashFile(mb.Path); err != nil {
			return err
		}
		files = append(files, f)
	}
	m.Files = append(files, m.Files...)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	mb = append(mb, '\n')
	if _, err := ParseManifest(mb); err != nil {
		return fmt.Errorf("the package's own manifest is not valid: %w", err)
	}
	sig, err := s.sign(mb)
	if err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	zw := zip.NewWriter(w)
	put := func(name string, b []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: m.Created})
		if err != nil {
			return err
		}
		_, err = fw.Write(b)
		return err
	}
	for _, p := range []struct {
		name string
		b    []byte
	}{{ManifestName, mb}, {SignatureName, sig}, {SignerName, s.PEM}, {ReadmeName, []byte(readme)}} {
		if err := put(p.name, p.b); err != nil {
			return err
		}
	}
	for i, mbr := range members {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: mbr.File.Name, Method: zip.Store, Modified: m.Created})
		if err != nil {
			return err
		}
		f, err := os.Open(mbr.Path)
		if err != nil {
			return err
		}
		n, err := io.Copy(fw, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("pack %s: %w", mbr.File.Name, err)
		}
		if n != files[i].Bytes {
			return fmt.Errorf("pack %s: the file changed while packed (%d bytes, hashed %d)", mbr.File.Name, n, files[i].Bytes)
		}
	}
	return zw.Close()
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

const readme = `This package was exported by a Kuzet node.

manifest.json  who exported what and why: the node, the user, the reason
               and case, the time range, and every video file's size and
               sha256
manifest.sig   the manifest's signature (ECDSA P-256, SHA-256, ASN.1) by
               the node's key
signer.pem     the node's certificate (or its public key)
video/         one MP4 per camera (fragmented; ffmpeg -i F -c copy out.mp4
               makes a plain MP4)

Check it, with the federation's CA certificate to know which node made it:

    kuzet export verify PACKAGE.zip --ca ca.pem

Without kuzet: sha256sum each file under video/ against manifest.json,
and check manifest.sig over manifest.json with the key in signer.pem, e.g.
    openssl x509 -in signer.pem -pubkey -noout > pub.pem
    openssl dgst -sha256 -verify pub.pem -signature manifest.sig manifest.json
`
