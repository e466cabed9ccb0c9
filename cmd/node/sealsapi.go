package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kuzet/kuzet/seals"
)

// sealsAPI runs the operator's commands of the seal exchange against a
// node's API.
func sealsAPI(cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kuzet seals "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	api, token := apiFlags(fs, "node HTTP address")
	seal := fs.String("seal", "", "the seal (query)")
	typ := fs.String("type", "T1", "T0 (its shipments), T1 (its technological data) or owner (query)")
	to := fs.String("to", "", "the partner asked (query; default: by the routing rules, owner only)")
	from := fs.String("from", "", "window start, RFC 3339 (query; default 24 h before --until)")
	until := fs.String("until", "", "window end, RFC 3339 (query; default now)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for answers (query)")
	rest, err := parseAnywhere(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	c := &sealsClient{base: strings.TrimSuffix(*api, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second}}
	switch cmd {
	case "partners":
		return c.print(stdout, "GET", "/api/v1/seals/partners", nil)
	case "show":
		if len(rest) != 1 {
			return fmt.Errorf("seals show: give one seal ID")
		}
		return c.print(stdout, "GET", "/api/v1/seals/"+url.PathEscape(rest[0]), nil)
	case "send":
		if len(rest) != 1 {
			return fmt.Errorf("seals send: give one FILE (- for stdin)")
		}
		var b []byte
		if rest[0] == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, seals.MaxMessageBytes+1))
		} else {
			b, err = os.ReadFile(rest[0])
		}
		if err != nil {
			return err
		}
		return c.print(stdout, "POST", "/api/v1/seals/messages", b)
	}
	// query
	if *seal == "" {
		return fmt.Errorf("seals query: --seal is required")
	}
	end := time.Now().UTC()
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return fmt.Errorf("seals query: --until: %q is not an RFC 3339 time", *until)
		}
		end = t
	}
	start := end.Add(-24 * time.Hour)
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("seals query: --from: %q is not an RFC 3339 time", *from)
		}
		start = t
	}
	m := seals.Message{To: *to}
	switch *typ {
	case "owner":
		m.Kind, m.OwnershipQuery = seals.KindOwnershipQuery, &seals.OwnershipQuery{Seal: *seal}
	case "T0", "T1":
		if *to == "" {
			return fmt.Errorf("seals query: --to is required with --type %s: T0 and T1 ask one operator", *typ)
		}
		m.Kind, m.SealQuery = seals.KindSealQuery, &seals.SealQuery{Seal: *seal, Type: *typ, From: seals.At(start), To: seals.At(end)}
	default:
		return fmt.Errorf("seals query: --type must be T0, T1 or owner (got %q)", *typ)
	}
	body, _ := json.Marshal(m)
	var sent struct {
		Queued []struct {
			Peer    string        `json:"peer"`
			Message seals.Message `json:"message"`
		} `json:"queued"`
	}
	if err := c.do("POST", "/api/v1/seals/messages", body, &sent); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	for _, q := range sent.Queued {
		fmt.Fprintf(stdout, "asked %s (message %s)\n", q.Peer, q.Message.ID)
	}
	answered := map[string]bool{}
	for len(answered) < len(sent.Queued) {
		for _, q := range sent.Queued {
			if answered[q.Message.ID] {
				continue
			}
			var got struct {
				Messages []struct {
					Message json.RawMessage `json:"message"`
				} `json:"messages"`
			}
			if err := c.do("GET", "/api/v1/seals/messages?in_reply_to="+url.QueryEscape(q.Message.ID), nil, &got); err != nil {
				return err
			}
			if len(got.Messages) == 0 {
				continue
			}
			answered[q.Message.ID] = true
			for i := len(got.Messages) - 1; i >= 0; i-- { // oldest first: a T1 answer's parts in order
				var out bytes.Buffer
				_ = json.Indent(&out, got.Messages[i].Message, "", "  ")
				fmt.Fprintln(stdout, out.String())
			}
		}
		if len(answered) == len(sent.Queued) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("seals query: %d of %d partners did not answer within %v (their answers will be in kuzet seals show and the log)",
				len(sent.Queued)-len(answered), len(sent.Queued), *wait)
		case <-time.After(300 * time.Millisecond):
		}
	}
	return nil
}

type sealsClient struct {
	base, token string
	http        *http.Client
}

// do calls the API and decodes its JSON answer into v; an error status
// is an error with the node's message.
func (c *sealsClient) do(method, path string, body []byte, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s", method, path, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New(method + " " + path + ": the answer is not JSON: " + err.Error())
	}
	return nil
}

// print calls the API and prints its JSON answer.
func (c *sealsClient) print(w io.Writer, method, path string, body []byte) error {
	var raw json.RawMessage
	if err := c.do(method, path, body, &raw); err != nil {
		return err
	}
	_, err := w.Write(raw)
	return err
}
