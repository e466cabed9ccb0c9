package plates

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// checkSnapshotRel refuses a snapshot path that could leave the plates
// directory or is not a JPEG.
func checkSnapshotRel(rel string) error {
	if rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") ||
		strings.Contains(rel, "\\") || !strings.HasSuffix(rel, ".jpg") {
		return fmt.Errorf("snapshot path %q is not a clean relative .jpg path", rel)
	}
	return nil
}

// SnapshotFile is where origin's snapshot rel is or would be kept by node
// self: its own under dir, other nodes' under dir/<origin>/.
func SnapshotFile(dir, self, origin, rel string) (string, error) {
	if err := checkSnapshotRel(rel); err != nil {
		return "", err
	}
	if origin == self {
		return filepath.Join(dir, filepath.FromSlash(rel)), nil
	}
	if strings.ContainsAny(origin, "/\\.") || origin == "" {
		return "", fmt.Errorf("origin %q is not a node ID", origin)
	}
	return filepath.Join(dir, origin, filepath.FromSlash(rel)), nil
}
