package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/config"
)

func cmdArchive(args []string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && args[0] == "verify" {
		return cmdArchiveVerify(args[1:], stdout, stderr)
	}
	if len(args) < 2 || args[0] != "repair" || asksHelp(args[1:]) {
		return usageOf(len(args) > 0 && (isHelp(args[0]) || asksHelp(args[1:])), stdout, stderr,
			"usage: kuzet archive repair FILE... | "+verifyUsage+"\n")
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

const verifyUsage = "kuzet archive verify {-c CONFIG | --data DIR [--root DIR]} [--quick]"

// cmdArchiveVerify checks a stopped node's archive against its index.
func cmdArchiveVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("archive verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the node's data directory (node.data_dir)")
	root := fs.String("root", "", "the archive root (default DATA/archive)")
	quick := fs.Bool("quick", false, "check presence and size only, not sha256")
	conf := fs.String("c", "", "the node's configuration: data directory, archive root and archive.store from it")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	var store objstore.Store
	if *conf != "" {
		cfg, err := config.LoadFile(*conf, config.Options{AllowShortRetention: true})
		if err != nil {
			return err
		}
		if *data == "" {
			*data = cfg.Node.DataDir
		}
		if *root == "" {
			*root = cfg.Archive.Root
		}
		if store, err = agent.OpenArchiveStore(cfg.Archive.Store); err != nil {
			return err
		}
	}
	if *data == "" {
		fmt.Fprintln(stderr, verifyUsage)
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
	r, err := archive.Verify(*root, x, *quick, store)
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
