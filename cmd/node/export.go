package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kuzet/kuzet/evidence"
)

func cmdExport(args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 || args[0] != "verify" || asksHelp(args[1:]) {
		return usageOf(len(args) > 0 && (isHelp(args[0]) || asksHelp(args[1:])), stdout, stderr,
			"usage: kuzet export verify PACKAGE.zip [--ca ca.pem]\n")
	}
	return cmdExportVerify(args[1:], stdout, stderr)
}

// cmdExportVerify checks an export package: every file against the
// signed manifest, and with --ca which node signed it.
func cmdExportVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caFile := fs.String("ca", "", "the federation CA certificate (PEM): check which node signed the package")
	// the package may come before or after the flags
	var pkg string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		pkg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if pkg == "" && fs.NArg() == 1 {
		pkg = fs.Arg(0)
	} else if pkg == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: kuzet export verify PACKAGE.zip [--ca ca.pem]")
		return errUsage
	}
	var roots *x509.CertPool
	if *caFile != "" {
		b, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return fmt.Errorf("--ca: %s holds no PEM certificate", *caFile)
		}
	}
	f, err := os.Open(pkg)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := evidence.Verify(f, st.Size(), roots)
	if rep != nil && rep.Manifest != nil {
		m := rep.Manifest
		fmt.Fprintf(stdout, "package   %s\nnode      %s\nsigned by %s\nexported  %s by %s", pkg, m.Node, orNone(rep.Signer), m.Created.Format("2006-01-02 15:04:05Z07:00"), m.User)
		if m.Role != "" {
			fmt.Fprintf(stdout, " (%s)", m.Role)
		}
		fmt.Fprintf(stdout, "\nreason    %s\n", m.Reason)
		if m.Case != "" {
			fmt.Fprintf(stdout, "case      %s\n", m.Case)
		}
		fmt.Fprintf(stdout, "range     %s .. %s\n", m.From.Format("2006-01-02 15:04:05Z07:00"), m.To.Format("2006-01-02 15:04:05Z07:00"))
		for _, fl := range m.Files {
			if fl.Name == "" {
				fmt.Fprintf(stdout, "  %-28s nothing: %s\n", fl.Camera, fl.Missing)
				continue
			}
			fmt.Fprintf(stdout, "  %-28s %s  %d bytes  sha256 %s\n", fl.Camera, fl.Name, fl.Bytes, fl.SHA256)
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "PROBLEM   %s\n", p)
		}
	}
	if err != nil {
		if errors.Is(err, evidence.ErrNotIntact) {
			fmt.Fprintln(stdout, "NOT INTACT: do not rely on this package")
		}
		return err
	}
	fmt.Fprintln(stdout, "OK: every file matches the signed manifest")
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(the signature could not be checked)"
	}
	return s
}
