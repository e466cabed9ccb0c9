package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/pki"
)

func cmdPKI(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "init" && args[0] != "issue" && args[0] != "operator" && args[0] != "plugin") {
		return usageOf(len(args) > 0 && isHelp(args[0]), stdout, stderr,
			"usage: kuzet pki init --dir DIR [--name NAME] [--days N]\n       kuzet pki issue --dir DIR --node ID [--out DIR] [--days N]\n"+
				"       kuzet pki operator --dir DIR --id OPERATOR [--host NAME,...] [--out DIR] [--days N]\n"+
				"       kuzet pki plugin --dir DIR --node ID --plugin NAME [--out DIR] [--days N]\n")
	}
	fs := flag.NewFlagSet("pki "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "pki", "directory of the federation CA")
	name := fs.String("name", "Kuzet federation CA", "CA name (init)")
	node := fs.String("node", "", "node ID to certify (issue)")
	out := fs.String("out", "", "where to write the node's files (issue; default --dir)")
	days := fs.Int("days", 0, "validity in days (default: CA 3650, node and operator 825)")
	operator := fs.String("id", "", "seal-exchange operator ID to certify (operator), e.g. KZ.KTZE")
	hosts := fs.String("host", "", "host names and addresses the operator's exchange listens on, comma-separated (operator)")
	plugin := fs.String("plugin", "", "remote plugin to certify for --node (plugin)")
	if err := fs.Parse(args[1:]); err != nil {
		return parseFailed(err)
	}
	if args[0] == "init" {
		d := *days
		if d == 0 {
			d = 3650
		}
		if err := pki.InitCA(*dir, *name, time.Duration(d)*24*time.Hour); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "CA certificate %s\nCA key         %s (keep it offline; it signs every node)\n",
			filepath.Join(*dir, pki.CACertFile), filepath.Join(*dir, pki.CAKeyFile))
		return nil
	}
	if *out == "" {
		*out = *dir
	}
	d := *days
	if d == 0 {
		d = 825
	}
	if args[0] == "operator" {
		if *operator == "" {
			return fmt.Errorf("pki operator: --id is required")
		}
		var hs []string
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hs = append(hs, h)
			}
		}
		iss, err := pki.IssueOperator(*dir, *operator, hs, *out, time.Duration(d)*24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "certificate %s (seals.tls.cert; partners trust %s)\nkey         %s\nexpires     %s\n",
			iss.CertPath, filepath.Join(*dir, pki.CACertFile), iss.KeyPath, iss.NotAfter.UTC().Format(time.RFC3339))
		return nil
	}
	if *node == "" {
		return fmt.Errorf("pki %s: --node is required", args[0])
	}
	if args[0] == "plugin" {
		if *plugin == "" {
			return fmt.Errorf("pki plugin: --plugin is required")
		}
		iss, err := pki.IssuePlugin(*dir, *node, *plugin, *out, time.Duration(d)*24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "certificate %s (KUZET_PLUGIN_CERT of plugin %s, for node %s only)\nkey         %s\nserial      %s (list it under federation.revoked to revoke)\nexpires     %s\n",
			iss.CertPath, *plugin, *node, iss.KeyPath, iss.Serial, iss.NotAfter.UTC().Format(time.RFC3339))
		return nil
	}
	iss, err := pki.IssueNode(*dir, *node, *out, time.Time{}, time.Duration(d)*24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "certificate %s\nkey         %s\nserial      %s (list it under federation.revoked to revoke)\nexpires     %s\n",
		iss.CertPath, iss.KeyPath, iss.Serial, iss.NotAfter.UTC().Format(time.RFC3339))
	return nil
}
