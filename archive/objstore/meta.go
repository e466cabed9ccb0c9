package objstore

import (
	"fmt"
	"strings"
)

// maxMeta is S3's limit on an object's user metadata (names and values,
// the sha256 included); the file system store keeps the same limit so
// that an object can move between them.
const maxMeta = 2048

// checkResume refuses what Resume could not store alike in every store:
// the sha256 is 64 lower-case hex digits (it is compared as a string),
// meta names are lower-case letters, digits and '-' (HTTP header names
// that no store re-cases; "sha256" is the store's own), values printable
// ASCII without surrounding blanks (HTTP trims those).
func checkResume(size int64, sum string, meta map[string]string) error {
	if size < 0 {
		return fmt.Errorf("negative size %d", size)
	}
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return fmt.Errorf("sha256 %q: not 64 lower-case hex digits", sum)
	}
	n := len("sha256") + len(sum)
	for k, v := range meta {
		if k == "" || k == "sha256" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("meta name %q: lower-case letters, digits and - only, and not sha256", k)
		}
		if strings.TrimSpace(v) != v {
			return fmt.Errorf("meta %s: leading or trailing blanks", k)
		}
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				return fmt.Errorf("meta %s: printable ASCII only", k)
			}
		}
		n += len(k) + len(v)
	}
	if n > maxMeta {
		return fmt.Errorf("meta: %d bytes with the sha256, more than %d", n, maxMeta)
	}
	return nil
}

// userMeta splits an S3 object's user metadata (names without their
// x-amz-meta- prefix, as minio-go gives them) into the sha256 and the
// rest, lower-cased; nil when there is no rest.
func userMeta(um map[string]string) (sum string, meta map[string]string) {
	for k, v := range um {
		k = strings.ToLower(k)
		if k == "sha256" {
			sum = v
			continue
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[k] = v
	}
	return sum, meta
}
