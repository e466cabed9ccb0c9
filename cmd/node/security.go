package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
)

// cmdUser: `kuzet user hash` reads a password (and optionally its
// confirmation) on stdin and prints its argon2id hash for users[].password_hash.
func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "hash" || asksHelp(args[1:]) {
		return usageOf(len(args) > 0 && (isHelp(args[0]) || asksHelp(args[1:])), stdout, stderr,
			"usage: kuzet user hash < PASSWORD   (a second line, if given, must repeat it)\n")
	}
	return auth.HashCommand(stdin, stdout)
}

// cmdAudit: `kuzet audit verify --data DIR` checks the audit chain of every
// origin in a stopped node's event log (or a copy of it).
func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageOf(len(args) > 0 && isHelp(args[0]), stdout, stderr, "usage: kuzet audit verify --data DIR | --events FILE\n")
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the node's data directory (node.data_dir)")
	file := fs.String("events", "", "an events.db file (a copy of a node's)")
	if err := fs.Parse(args[1:]); err != nil {
		return parseFailed(err)
	}
	path := *file
	if path == "" {
		if *data == "" {
			fmt.Fprintln(stderr, "kuzet audit verify: --data DIR or --events FILE is required")
			return errUsage
		}
		path = filepath.Join(*data, "events.db")
	}
	ok, err := audit.VerifyFile(path, stdout)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("audit chain is broken or an origin restarted with an empty store (see above)")
	}
	return nil
}
