package main

import (
	"flag"
	"os"
)

// apiFlags adds --api (the node's HTTP address, default $KUZET_API or
// http://127.0.0.1:8080) and --token (default $KUZET_TOKEN) to the
// commands that speak to a node's API.
func apiFlags(fs *flag.FlagSet, apiHelp string) (api, token *string) {
	def := os.Getenv("KUZET_API")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	api = fs.String("api", def, apiHelp)
	token = fs.String("token", os.Getenv("KUZET_TOKEN"), "API token, for nodes that require logins (default $KUZET_TOKEN)")
	return api, token
}

// parseAnywhere parses flags that may come before, between or after the
// arguments, and returns the arguments.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for more := args; ; {
		if err := fs.Parse(more); err != nil {
			return nil, err
		}
		if more = fs.Args(); len(more) == 0 {
			return rest, nil
		}
		rest, more = append(rest, more[0]), more[1:]
	}
}
