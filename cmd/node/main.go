// Command kuzet is the Kuzet node: one binary for site and parent nodes.
//
// It holds flags, subcommands and the wiring agent does not; the logic
// lives in the packages it imports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `kuzet — hierarchical video federation node

Usage:
  kuzet run -c node.yaml          run a node from its configuration
  kuzet demo [--dir DIR]          synthetic camera + site node recording it
  kuzet testcam [--listen ADDR]   serve the synthetic RTSP camera (cam1, cam2, ...)
  kuzet pki init --dir DIR        create the federation CA
  kuzet pki issue --dir DIR --node ID   certify a node (ECDSA P-256, node ID in a URI SAN)
  kuzet archive repair FILE...    truncate segment files to their last complete fragment
  kuzet archive verify --data DIR check a stopped node's segment files against its index (sha256)
  kuzet export verify PKG.zip [--ca ca.pem]
                                 check an export package against its signed manifest (and who signed it)
  kuzet anpr eval DIR [--json]    measure plate recognition on labelled images
  kuzet anpr synth OUTDIR --country kz|ru|ua   generate a synthetic plate test set
  kuzet sftp passwd < PASSWORD    print an argon2id hash for sftp.accounts[].password_hash
  kuzet user hash < PASSWORD      print an argon2id hash for users[].password_hash
  kuzet topology show|status|bootstrap|join|remove|apply|delete|export   the catalogue, through a node's API
  kuzet audit verify --data DIR   check the hash-chained audit log of a stopped node
  kuzet seals check FILE...       check navigation-seal exchange messages (kuzet seals schema: their JSON Schema)
  kuzet seals send|query|show|partners   the navigation-seal exchange, through a node's API
  kuzet onvif discover|describe|add      find ONVIF cameras, their streams, and add them to the catalogue
  kuzet check -c node.yaml        before a restart: the configuration, directories, certificates,
                                 each camera's stream and each NTP server, one line each
  kuzet version                   print the version
  kuzet help                      this text

Run 'kuzet COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "kuzet:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := command(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the command printed its flags, as asked
	}
	return err
}

func command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "testcam":
		return cmdTestcam(ctx, args[1:], stdout, stderr)
	case "archive":
		return cmdArchive(args[1:], stdout, stderr)
	case "export":
		return cmdExport(args[1:], stdout, stderr)
	case "pki":
		return cmdPKI(args[1:], stdout, stderr)
	case "anpr":
		return cmdANPR(ctx, args[1:], stdout, stderr)
	case "sftp":
		return cmdSFTP(args[1:], os.Stdin, stdout, stderr)
	case "user":
		return cmdUser(args[1:], os.Stdin, stdout, stderr)
	case "topology":
		return cmdTopology(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "seals":
		return cmdSeals(args[1:], stdout, stderr)
	case "onvif":
		return cmdONVIF(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "kuzet", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "kuzet: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
