package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kuzet/kuzet/seals"
)

const sealsUsage = `usage:
  kuzet seals check FILE...   check navigation-seal exchange messages against the model (docs/seals.md)
  kuzet seals schema          print the messages' JSON Schema
  kuzet seals send FILE       send a message (JSON, - for stdin) through the node; without "to" the routing rules choose
  kuzet seals query --seal ID [--type T0|T1|owner] [--to OPERATOR] [--from TIME] [--until TIME] [--wait 30s]
                              ask partners about a seal and print their answers
  kuzet seals show ID         what the node knows of a seal: owner, shipments, readings, anomalies
  kuzet seals partners        the partners and their outboxes

send, query, show and partners speak to the node's API: --api URL (default $KUZET_API or
http://127.0.0.1:8080), --token TOKEN (default $KUZET_TOKEN) where the node requires logins.
`

// cmdSeals checks exchange messages as a partner would send them: every
// file is parsed as the node parses a message it receives, and each
// refusal names the file and the field.
func cmdSeals(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(len(args) > 0, stdout, stderr, sealsUsage)
	}
	switch args[0] {
	case "schema":
		_, err := stdout.Write(seals.Schema())
		return err
	case "check":
	case "send", "query", "show", "partners":
		return sealsAPI(args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "kuzet seals: unknown command %q\n%s", args[0], sealsUsage)
		return errUsage
	}
	files := args[1:]
	if len(files) == 0 {
		fmt.Fprint(stderr, "kuzet seals check: no FILE given\n"+sealsUsage)
		return errUsage
	}
	refused := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", name, err)
			refused++
			continue
		}
		m, err := seals.ReadMessage(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stdout, "%s: refused: %v\n", name, err)
			refused++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok: %s %s from %s to %s\n", name, m.Kind, m.ID, m.From, m.To)
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d messages refused", refused, len(files))
	}
	return nil
}
