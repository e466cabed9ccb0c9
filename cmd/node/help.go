package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Asking for help is not an error: `kuzet COMMAND --help` prints the
// command's usage and exits 0, whatever the command.

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// asksHelp reports whether any flag before "--" asks for help.
func asksHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a != "help" && isHelp(a) {
			return true
		}
	}
	return false
}

// usageOf prints a command's usage: on stdout with no error when help was
// asked for, on stderr with errUsage when the arguments were wrong.
func usageOf(help bool, stdout, stderr io.Writer, text string) error {
	if help {
		fmt.Fprint(stdout, text)
		return nil
	}
	fmt.Fprint(stderr, text)
	return errUsage
}

// parseFailed is what a command returns when its flags did not parse: the
// flag package has printed the usage; -h is then not a failure.
func parseFailed(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	return errUsage
}
