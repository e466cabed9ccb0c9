package main

import (
	"fmt"
	"io"

	"github.com/kuzet/kuzet/archive"
)

func cmdArchive(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "repair" {
		fmt.Fprintln(stderr, "usage: kuzet archive repair FILE...")
		return errUsage
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
