// Package netaddr owns the address ranges that settings and records allow
// (web and re-stream clients, users, administration, SFTP accounts, camera
// ingest): a range is written as a CIDR prefix or as one address, and a bad
// entry is named in the error.
//
// It is a leaf: it may import only the standard library, so that config,
// auth, the SFTP server and the catalogue can all share it.
package netaddr
