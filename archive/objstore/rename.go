package objstore

import (
	"fmt"
	"os"
)

// linkUnlink moves a file without ever replacing one: the hard link fails
// with EEXIST (fs.ErrExist) if newpath exists.
func linkUnlink(oldpath, newpath string) error {
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	if err := os.Remove(oldpath); err != nil {
		return fmt.Errorf("remove %s after linking it to %s: %w", oldpath, newpath, err)
	}
	return nil
}
