//go:build !linux

package objstore

// RenameNoReplace moves oldpath to newpath only if newpath does not exist
// (link+unlink: link fails on an existing name). An existing newpath
// gives an error matching fs.ErrExist.
func RenameNoReplace(oldpath, newpath string) error { return linkUnlink(oldpath, newpath) }
