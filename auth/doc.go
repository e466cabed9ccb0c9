// Package auth authenticates and authorises HTTP API callers: users with
// ordered roles and argon2id password hashes, cookie sessions with CSRF
// tokens, bearer API tokens for other systems, failed-login throttling and
// the workstation ranges that administration is confined to (UA-3.8).
//
// Its argon2id hasher (Argon2id, ParseArgon2id) also hashes and checks the
// passwords of SFTP accounts.
//
// It may import netaddr only: it knows no store but the one it is given.
package auth
