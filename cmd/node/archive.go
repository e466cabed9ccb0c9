package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kuzet/kuzet/archive"
)

func cmdArchive(args []string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && args[0] == "verify" {
		return cmdArchiveVerify(args[1:], stdout, stderr)
	}
	if len(args) < 2 || args[0] != "repair" || asksHelp(args[1:]) {
		return usageOf(len(args) > 0 && (isHelp(args[0]) || asksHelp(args[1:])), stdout, stderr,
			"usage: kuzet archive repair FILE... | kuzet archive verify --data DIR [--root DIR] [--quick]\n")
	}
	failed := 0
	for _, p := range args[1:] {
		res, err := archive.RepairFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p, err)
			failed++
			continue
		}
		if res.Fragments == 0 {
			fmt.Fprintf(stderr, "%s: no complete fragment; nothing recoverable\n", p)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: %d fragments, %v, %d bytes kept, %d dropped, sha256 %s\n",
			p, res.Fragments, res.Duration, res.Bytes, res.Dropped, res.SHA256)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be repaired", failed, len(args)-1)
	}
	return nil
}

// cmdArchiveVerify checks a stopped node's archive against its index.
func cmdArchiveVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("archive verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the node's data directory (node.data_dir)")
	root := fs.String("root", "", "the archive root (default DATA/archive)")
	quick := fs.Bool("quick", false, "check presence and size only, not sha256")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if *data == "" {
		fmt.Fprintln(stderr, "usage: kuzet archive verify --data DIR [--root DIR] [--quick]")
		return errUsage
	}
	if *root == "" {
		*root = filepath.Join(*data, "archive")
	}
	x, err := archive.OpenIndex(filepath.Join(*data, "archive.db"))
	if err != nil {
		return fmt.Errorf("%w (a running node holds its index: stop it, or verify a copy)", err)
	}
	defer x.Close()
	r, err := archive.Verify(*root, x, *quick)
	if err != nil {
		return err
	}
	for _, p := range r.Problems {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stdout, "%d segments, %d bytes verified, %d problems\n", r.Segments, r.Bytes, len(r.Problems))
	if len(r.Problems) > 0 {
		return fmt.Errorf("%d segments do not match the index", len(r.Problems))
	}
	return nil
}
