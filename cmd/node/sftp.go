package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kuzet/kuzet/archive/sftpd"
)

// cmdSFTP: `kuzet sftp passwd` reads a password on stdin and prints its
// argon2id hash for sftp.accounts[].password_hash.
func cmdSFTP(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "passwd" || asksHelp(args[1:]) {
		return usageOf(len(args) > 0 && (isHelp(args[0]) || asksHelp(args[1:])), stdout, stderr,
			"usage: kuzet sftp passwd < password\n")
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "password: ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return fmt.Errorf("password: at least 8 characters")
	}
	h, err := sftpd.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}
