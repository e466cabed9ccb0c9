package onvif

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks to one device's services with its credentials.
type Client struct {
	Device   string // the device service URL (a discovery's XAddr)
	User     string
	Password string
	HTTP     *http.Client // default: 10 s timeout
	Now      func() time.Time

	media string // the media service URL, learnt from the capabilities
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// call posts one request body (an element of the service's namespace) to
// service and decodes the answer into v. The credentials go as a
// WS-Security UsernameToken; a device that asks for HTTP digest instead
// (401 with a Digest challenge) gets that.
func (c *Client) call(ctx context.Context, service, action, body string, v any) error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	env := envelope(body, c.User, c.Password, now())
	resp, err := c.post(ctx, service, action, env, "")
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.User != "" {
		challenge := resp.Header.Get("WWW-Authenticate")
		resp.Body.Close()
		if !strings.HasPrefix(strings.ToLower(challenge), "digest ") {
			return fmt.Errorf("%s at %s: 401 without a digest challenge: the device refused the credentials", action, service)
		}
		auth, err := digestAuth(challenge, c.User, c.Password, "POST", service)
		if err != nil {
			return fmt.Errorf("%s at %s: %w", action, service, err)
		}
		if resp, err = c.post(ctx, service, action, env, auth); err != nil {
			return err
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%s at %s: 401: the device refused the credentials", action, service)
	}
	_, err = readEnvelope(resp.Body, v)
	switch {
	case err == nil && resp.StatusCode/100 != 2:
		return fmt.Errorf("%s at %s: %s without a fault", action, service, resp.Status)
	case err != nil:
		return fmt.Errorf("%s at %s: %w", action, service, err)
	}
	return nil
}

func (c *Client) post(ctx context.Context, service, action string, env []byte, auth string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, service, bytes.NewReader(env))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", action, service, err)
	}
	return resp, nil
}

// digestAuth answers an HTTP digest challenge (RFC 7616, MD5, qop auth).
func digestAuth(challenge, user, password, method, target string) (string, error) {
	p := map[string]string{}
	for _, part := range splitParams(challenge[len("digest "):]) {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			p[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	if p["nonce"] == "" || p["realm"] == "" {
		return "", fmt.Errorf("digest challenge without realm or nonce: %q", challenge)
	}
	if a := strings.ToUpper(p["algorithm"]); a != "" && a != "MD5" {
		return "", fmt.Errorf("digest algorithm %s is not supported (MD5 is)", a)
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	uri := u.RequestURI()
	md := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	ha1, ha2 := md(user+":"+p["realm"]+":"+password), md(method+":"+uri)
	cn := make([]byte, 8)
	_, _ = rand.Read(cn)
	cnonce := hex.EncodeToString(cn)
	var resp, extra string
	if strings.Contains(p["qop"], "auth") {
		resp = md(ha1 + ":" + p["nonce"] + ":00000001:" + cnonce + ":auth:" + ha2)
		extra = `, qop=auth, nc=00000001, cnonce="` + cnonce + `"`
	} else {
		resp = md(ha1 + ":" + p["nonce"] + ":" + ha2)
	}
	h := fmt.Sprintf(`Digest username=%q, realm=%q, nonce=%q, uri=%q, response=%q%s`, user, p["realm"], p["nonce"], uri, resp, extra)
	if p["opaque"] != "" {
		h += fmt.Sprintf(`, opaque=%q`, p["opaque"])
	}
	return h, nil
}

// splitParams splits a challenge's parameters at commas outside quotes.
func splitParams(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}
