package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/evidence"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/topology"
	"github.com/kuzet/kuzet/whep/wheptest"
)

// The OpenAPI description (api/openapi.yaml) is the contract external
// systems integrate against. These tests hold it to a real node: every
// route the node registers is documented, every documented operation is
// routed and guarded by the role it names, and what the node answers has
// the documented status, media type and JSON shape.

// oaSpec is the part of an OpenAPI 3.0 document the checks read.
type oaSpec struct {
	OpenAPI    string                `yaml:"openapi"`
	Security   []map[string][]string `yaml:"security"`
	Paths      map[string]oaPathItem `yaml:"paths"`
	Components struct {
		Schemas         map[string]*oaSchema      `yaml:"schemas"`
		Parameters      map[string]oaParameter    `yaml:"parameters"`
		Responses       map[string]oaResponse     `yaml:"responses"`
		SecuritySchemes map[string]map[string]any `yaml:"securitySchemes"`
	} `yaml:"components"`
}

type oaPathItem struct {
	Get    *oaOperation `yaml:"get"`
	Head   *oaOperation `yaml:"head"`
	Post   *oaOperation `yaml:"post"`
	Put    *oaOperation `yaml:"put"`
	Patch  *oaOperation `yaml:"patch"`
	Delete *oaOperation `yaml:"delete"`
}

func (p oaPathItem) operations() map[string]*oaOperation {
	out := map[string]*oaOperation{}
	for m, op := range map[string]*oaOperation{"GET": p.Get, "HEAD": p.Head, "POST": p.Post, "PUT": p.Put, "PATCH": p.Patch, "DELETE": p.Delete} {
		if op != nil {
			out[m] = op
		}
	}
	return out
}

type oaOperation struct {
	OperationID string                 `yaml:"operationId"`
	Role        string                 `yaml:"x-kuzet-role"`
	Security    *[]map[string][]string `yaml:"security"`
	Parameters  []oaParameter          `yaml:"parameters"`
	RequestBody *struct {
		Content map[string]oaMedia `yaml:"content"`
	} `yaml:"requestBody"`
	Responses map[string]oaResponse `yaml:"responses"`
}

type oaParameter struct {
	Ref      string    `yaml:"$ref"`
	Name     string    `yaml:"name"`
	In       string    `yaml:"in"`
	Required bool      `yaml:"required"`
	Schema   *oaSchema `yaml:"schema"`
	Example  any       `yaml:"example"`
}

type oaResponse struct {
	Ref         string             `yaml:"$ref"`
	Description string             `yaml:"description"`
	Content     map[string]oaMedia `yaml:"content"`
}

type oaMedia struct {
	Schema *oaSchema `yaml:"schema"`
}

type oaSchema struct {
	Ref                  string               `yaml:"$ref"`
	Type                 string               `yaml:"type"`
	Format               string               `yaml:"format"`
	Pattern              string               `yaml:"pattern"`
	Nullable             bool                 `yaml:"nullable"`
	Enum                 []any                `yaml:"enum"`
	Properties           map[string]*oaSchema `yaml:"properties"`
	Required             []string             `yaml:"required"`
	Items                *oaSchema            `yaml:"items"`
	AdditionalProperties any                  `yaml:"additionalProperties"`
	MinItems             *int                 `yaml:"minItems"`
	MaxItems             *int                 `yaml:"maxItems"`
}

// docOp is one documented operation with its parameters resolved.
type docOp struct {
	Method, Path string
	*oaOperation
	Params []oaParameter
	Role   auth.Role // 0: none
}

func (o docOp) String() string { return o.Method + " " + o.Path }

func refName(ref, kind string) string {
	return strings.TrimPrefix(ref, "#/components/"+kind+"/")
}

func (s *oaSpec) schema(sc *oaSchema) *oaSchema {
	for i := 0; sc != nil && sc.Ref != "" && i < 8; i++ {
		sc = s.Components.Schemas[refName(sc.Ref, "schemas")]
	}
	return sc
}

func (s *oaSpec) response(r oaResponse) oaResponse {
	if r.Ref != "" {
		return s.Components.Responses[refName(r.Ref, "responses")]
	}
	return r
}

func (s *oaSpec) param(p oaParameter) oaParameter {
	if p.Ref != "" {
		return s.Components.Parameters[refName(p.Ref, "parameters")]
	}
	return p
}

// ops lists the documented operations, by path and method.
func (s *oaSpec) ops() []docOp {
	var out []docOp
	for path, item := range s.Paths {
		for m, op := range item.operations() {
			o := docOp{Method: m, Path: path, oaOperation: op}
			for _, p := range op.Parameters {
				o.Params = append(o.Params, s.param(p))
			}
			if op.Role != "none" {
				o.Role, _ = auth.ParseRole(op.Role)
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (s *oaSpec) op(method, path string) (docOp, bool) {
	for _, o := range s.ops() {
		if o.Method == method && o.Path == path {
			return o, true
		}
	}
	return docOp{}, false
}

// validate reports where v departs from the schema. Beyond JSON Schema's
// defaults, a property the schema does not name is an error unless
// additionalProperties allows it: every field the node sends must be
// documented.
func (s *oaSpec) validate(sc *oaSchema, v any, at string) []string {
	sc = s.schema(sc)
	if sc == nil {
		return nil
	}
	typ := sc.Type
	if typ == "" && sc.Properties != nil {
		typ = "object"
	}
	if v == nil {
		if typ != "" && !sc.Nullable {
			return []string{at + ": null, not nullable"}
		}
		return nil
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(f, a...)) }
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%T, want an object", v)
			break
		}
		for _, r := range sc.Required {
			if _, ok := m[r]; !ok {
				bad("required property %q missing", r)
			}
		}
		for k, x := range m {
			p, ok := sc.Properties[k]
			if !ok {
				if sc.AdditionalProperties != true {
					bad("property %q is not documented", k)
				}
				continue
			}
			errs = append(errs, s.validate(p, x, at+"."+k)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("%T, want an array", v)
			break
		}
		if (sc.MinItems != nil && len(a) < *sc.MinItems) || (sc.MaxItems != nil && len(a) > *sc.MaxItems) {
			bad("%d items", len(a))
		}
		for i, x := range a {
			errs = append(errs, s.validate(sc.Items, x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%T, want a string", v)
			break
		}
		if sc.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not an RFC 3339 time", str)
			}
		}
		if sc.Pattern != "" && !regexp.MustCompile(sc.Pattern).MatchString(str) {
			bad("%q does not match %s", str, sc.Pattern)
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
			if _, uerr := strconv.ParseUint(string(n), 10, 64); !ok || uerr != nil {
				bad("%v is not an integer", v)
			}
		}
	case "number":
		if n, ok := v.(json.Number); !ok {
			bad("%T, want a number", v)
		} else if _, err := n.Float64(); err != nil {
			bad("%v is not a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%T, want a boolean", v)
		}
	}
	if len(sc.Enum) > 0 && !slices.ContainsFunc(sc.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		bad("%v is not one of %v", v, sc.Enum)
	}
	return errs
}

func loadSpec(t *testing.T) *oaSpec {
	t.Helper()
	var s oaSpec
	if err := yaml.Unmarshal(api.OpenAPI, &s); err != nil {
		t.Fatalf("api/openapi.yaml does not parse: %v", err)
	}
	return &s
}

// resolvePointer follows a local JSON pointer ("#/a/b") in a YAML tree.
func resolvePointer(root any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	cur := root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}

var pathParam = regexp.MustCompile(`\{([^{}]+)\}`)

// The description parses, every $ref resolves, and every operation is
// complete enough to call and to check.
func TestOpenAPISpecIsWellFormed(t *testing.T) {
	s := loadSpec(t)
	if s.OpenAPI != "3.0.3" {
		t.Errorf("openapi: %q, want 3.0.3", s.OpenAPI)
	}
	var raw any
	if err := yaml.Unmarshal(api.OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					refs++
					if r, _ := c.(string); !resolvePointer(raw, r) {
						t.Errorf("%s: $ref %v does not resolve", at, c)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(raw, "#")
	if refs < 100 {
		t.Errorf("only %d $refs found: the walk is broken", refs)
	}
	for name, sc := range s.Components.Schemas {
		for _, r := range sc.Required {
			if _, ok := sc.Properties[r]; !ok {
				t.Errorf("schema %s requires %q but does not define it", name, r)
			}
		}
	}

	ids := map[string]string{}
	for _, o := range s.ops() {
		if o.OperationID == "" {
			t.Errorf("%s: no operationId", o)
		} else if prev, ok := ids[o.OperationID]; ok {
			t.Errorf("%s: operationId %s also names %s", o, o.OperationID, prev)
		}
		ids[o.OperationID] = o.String()
		if o.Role == 0 && o.oaOperation.Role != "none" {
			t.Errorf("%s: x-kuzet-role %q is not none, viewer, operator, engineer or admin", o, o.oaOperation.Role)
		}
		// path parameters: declared exactly once each, with an example
		inPath := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(o.Path, -1) {
			inPath[m[1]] = true
		}
		declared := map[string]bool{}
		for _, p := range o.Params {
			if p.Name == "" || (p.In != "path" && p.In != "query" && p.In != "header") {
				t.Errorf("%s: parameter %+v unnamed or in %q", o, p, p.In)
			}
			if p.In == "path" {
				declared[p.Name] = true
				if !inPath[p.Name] {
					t.Errorf("%s: path parameter %q is not in the path", o, p.Name)
				}
				if !p.Required || p.Example == nil {
					t.Errorf("%s: path parameter %q must be required and have an example", o, p.Name)
				}
			}
			if p.In == "query" && p.Required && p.Example == nil {
				t.Errorf("%s: required query parameter %q has no example", o, p.Name)
			}
		}
		for name := range inPath {
			if !declared[name] {
				t.Errorf("%s: path parameter {%s} is not declared", o, name)
			}
		}
		// security: none means no credentials at all; changes made with
		// the session cookie need the CSRF header
		changes := o.Method != "GET" && o.Method != "HEAD"
		switch {
		case o.oaOperation.Role == "none":
			if o.Security == nil || len(*o.Security) != 0 {
				t.Errorf("%s: x-kuzet-role none must come with security: []", o)
			}
		case changes:
			ok := o.Security != nil
			if ok {
				for _, alt := range *o.Security {
					if _, session := alt["session"]; session {
						_, csrf := alt["csrf"]
						ok = ok && csrf
					}
				}
			}
			if !ok {
				t.Errorf("%s: a change must list {session, csrf} (and bearer) as its security", o)
			}
		case o.Security != nil:
			t.Errorf("%s: a read should use the default security", o)
		}
		for _, alt := range append(s.Security, derefSecurity(o.Security)...) {
			for name := range alt {
				if _, ok := s.Components.SecuritySchemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not defined", o, name)
				}
			}
		}
		if len(o.Responses) == 0 {
			t.Errorf("%s: no responses", o)
		}
		for code, r := range o.Responses {
			if s.response(r).Description == "" {
				t.Errorf("%s: response %s has no description", o, code)
			}
		}
		want := []string{}
		if o.Role != 0 && o.Method != "HEAD" {
			want = append(want, "401", "403", "429")
		}
		if o.RequestBody != nil {
			want = append(want, "413")
		}
		for _, code := range want {
			if _, ok := o.Responses[code]; !ok {
				t.Errorf("%s: response %s is not documented", o, code)
			}
		}
	}
	if len(ids) < 60 {
		t.Errorf("%d operations documented: the description is incomplete", len(ids))
	}
}

func derefSecurity(s *[]map[string][]string) []map[string][]string {
	if s == nil {
		return nil
	}
	return *s
}

// The description is served as is, cacheable by its ETag.
func TestOpenAPIHandler(t *testing.T) {
	srv := httptest.NewServer(api.OpenAPIHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, api.OpenAPI) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/openapi.yaml", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/api/v1/openapi.yaml", "application/yaml", strings.NewReader("openapi: 3.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// notMounted names documented paths a node may not serve yet. While one is
// not routed it is skipped; once it is, it is checked like every other
// path and must be removed from here.
var notMounted = []string{}

// apiRig is a running node with one user per role and its description.
type apiRig struct {
	t       *testing.T // the (sub)test running now
	top     *testing.T // the test that owns the node and the clients
	spec    *oaSpec
	a       *Agent // the node under test: a parent with users and the catalogue
	site    *Agent // its child, without users
	base    string
	anon    *client
	as      map[auth.Role]*client
	pw      map[auth.Role][2]string
	routes  *http.ServeMux // the node's recorded patterns, for matching
	roleOf  map[string]auth.Role
	skipped map[string]bool // documented paths not routed, listed in notMounted
}

// send makes one request for a documented operation and checks the answer
// against the description: a documented status, a documented media type,
// and a JSON body of the documented shape.
func (r *apiRig) send(c *client, op docOp, target, body string, hdr http.Header) (int, http.Header, []byte) {
	r.t.Helper()
	return r.sendAt(r.base, c, op, target, body, hdr)
}

func (r *apiRig) sendAt(base string, c *client, op docOp, target, body string, hdr http.Header) (int, http.Header, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(op.Method, base+target, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", op.Method, target, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		r.t.Fatalf("%s %s: read body: %v", op.Method, target, err)
	}
	r.checkAnswer(op, target, resp, b)
	return resp.StatusCode, resp.Header, b
}

func (r *apiRig) checkAnswer(op docOp, target string, resp *http.Response, b []byte) {
	r.t.Helper()
	code := resp.StatusCode
	if unrouted(code, b) {
		r.t.Errorf("%s %s: not routed (%d %q)", op.Method, target, code, b)
		return
	}
	doc, ok := op.Responses[strconv.Itoa(code)]
	if !ok {
		r.t.Errorf("%s %s: answered %d, which %s does not document: %.300s", op.Method, target, code, op, b)
		return
	}
	doc = r.spec.response(doc)
	if op.Method == "HEAD" || code == http.StatusNotModified || len(doc.Content) == 0 {
		return
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	media, ok := doc.Content[mt]
	if !ok {
		r.t.Errorf("%s %s: %d with Content-Type %q; documented: %v", op.Method, target, code, mt, keys(doc.Content))
		return
	}
	if mt != "application/json" {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		r.t.Errorf("%s %s: %d body is not JSON: %v: %.300s", op.Method, target, code, err, b)
		return
	}
	for _, e := range r.spec.validate(media.Schema, v, fmt.Sprintf("%d body", code)) {
		r.t.Errorf("%s %s: %s", op.Method, target, e)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unrouted recognises the ServeMux's own answers for a path or method it
// has no pattern for.
func unrouted(code int, body []byte) bool {
	return (code == http.StatusNotFound && string(body) == "404 page not found\n") ||
		(code == http.StatusMethodNotAllowed && string(body) == "Method Not Allowed\n")
}

// target fills a documented path with its parameters (examples unless
// given) and adds the required query parameters (unless given; given as
// nil, left out).
func target(op docOp, params map[string]string, query url.Values) string {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	vals, spans := map[string]string{}, map[string]bool{}
	for _, p := range op.Params {
		v := fmt.Sprint(p.Example)
		switch p.In {
		case "path":
			// a parameter whose example holds '/' spans path segments;
			// any other has its '/' escaped
			vals[p.Name], spans[p.Name] = v, strings.Contains(v, "/")
		case "query":
			if _, given := q[p.Name]; p.Required && !given {
				q.Set(p.Name, v)
			}
		}
	}
	for k, v := range params {
		vals[k] = v
	}
	path := pathParam.ReplaceAllStringFunc(op.Path, func(m string) string {
		name := m[1 : len(m)-1]
		if !spans[name] {
			return url.PathEscape(vals[name])
		}
		parts := strings.Split(vals[name], "/")
		for i := range parts {
			parts[i] = url.PathEscape(parts[i])
		}
		return strings.Join(parts, "/")
	})
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// call is send for the operation at method and documented path, checking
// the status too.
func (r *apiRig) call(c *client, method, path string, params map[string]string, query url.Values, body string, want int) []byte {
	r.t.Helper()
	if r.skipped[path] {
		return nil
	}
	return r.callAt(r.base, c, method, path, params, query, body, want)
}

// callAt is call on another server.
func (r *apiRig) callAt(base string, c *client, method, path string, params map[string]string, query url.Values, body string, want int) []byte {
	r.t.Helper()
	op, ok := r.spec.op(method, path)
	if !ok {
		r.t.Fatalf("%s %s is not documented", method, path)
	}
	tg := target(op, params, query)
	code, _, b := r.sendAt(base, c, op, tg, body, nil)
	if code != want {
		r.t.Errorf("%s %s: %d, want %d: %.400s", method, tg, code, want, b)
	}
	return b
}

// webrtc plays the own camera and the relayed one over WebRTC (a pion
// player), ends a session, and sees each refusal's status.
func (r *apiRig) webrtc(c *client) {
	r.t.Helper()
	offer, _ := r.spec.op("POST", "/api/v1/webrtc/{camera}")
	end, _ := r.spec.op("DELETE", "/api/v1/webrtc/sessions/{id}")
	sdp := http.Header{"Content-Type": {"application/sdp"}}
	for _, x := range []struct {
		camera, body string
		hdr          http.Header
		want         int
	}{
		{"Camera1", "not an SDP", sdp, 400},
		{"Camera9", "v=0", sdp, 404},
		{"a/b/c", "v=0", sdp, 404},
		{"nowhere/Camera1", "v=0", sdp, 502},
		{"Camera1", "{}", nil, 415},
		{"Camera2", "v=0", sdp, 503},
	} {
		if code, _, b := r.send(c, offer, "/api/v1/webrtc/"+x.camera, x.body, x.hdr); code != x.want {
			r.t.Errorf("POST /api/v1/webrtc/%s: %d %s, want %d", x.camera, code, b, x.want)
		}
	}
	for _, camera := range []string{"Camera1", "site/Camera1"} {
		p, code, body, err := wheptest.Dial(context.Background(), c.http, r.base+"/api/v1/webrtc/"+camera,
			http.Header{"X-CSRF-Token": {c.csrf}}, true)
		if err != nil || p == nil {
			r.t.Errorf("WebRTC %s: %v %d %s", camera, err, code, body)
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(p.Frames()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if len(p.Frames()) == 0 {
			r.t.Errorf("WebRTC %s: no frame in 10 s", camera)
		}
		if code, _, b := r.send(c, end, p.Location, "", nil); code != 204 {
			r.t.Errorf("DELETE %s: %d %s", p.Location, code, b)
		}
		if code, _, _ := r.send(c, end, p.Location, "", nil); code != 404 {
			r.t.Errorf("DELETE %s again: %d, want 404", p.Location, code)
		}
		p.Close()
	}
}

// callSoon is call for an answer that may take a while on a loaded
// machine (a relay or a muxer starting): 502 and 503 are retried.
func (r *apiRig) callSoon(c *client, method, path string, params map[string]string, want int) []byte {
	r.t.Helper()
	op, ok := r.spec.op(method, path)
	if !ok {
		r.t.Fatalf("%s %s is not documented", method, path)
	}
	tg := target(op, params, nil)
	for deadline := time.Now().Add(45 * time.Second); ; {
		code, _, b := r.send(c, op, tg, "", nil)
		if code == want {
			return b
		}
		if (code != 502 && code != 503) || time.Now().After(deadline) {
			r.t.Errorf("%s %s: %d, want %d: %.400s", method, tg, code, want, b)
			return b
		}
		time.Sleep(time.Second)
	}
}

func cheapHash(t *testing.T, pw string) string {
	t.Helper()
	p := auth.DefaultParams
	p.Memory, p.Time = 1024, 1 // cheap for tests
	h, err := auth.HashPasswordParams(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func startAPIRig(t *testing.T) *apiRig {
	t.Helper()
	testkit.Long(t) // a running node with its cameras and links
	src, dir, tls := federationRig(t)
	r := &apiRig{t: t, top: t, spec: loadSpec(t), as: map[auth.Role]*client{}, roleOf: map[string]auth.Role{}, skipped: map[string]bool{},
		pw: map[auth.Role][2]string{
			auth.RoleViewer: {"vera", "viewer-pass"}, auth.RoleOperator: {"olga", "operator-pass"},
			auth.RoleEngineer: {"erik", "engineer-pass"}, auth.RoleAdmin: {"adam", "admin-pass"},
		}}
	var users strings.Builder
	for role, up := range r.pw {
		fmt.Fprintf(&users, "  - {name: %s, role: %s, password_hash: %q}\n", up[0], role, cheapHash(t, up[1]))
	}
	r.a, _ = startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
live: {webrtc: {listen: "127.0.0.1:0"}}
cameras:
  - {id: Camera1, url: %q}
  - {id: Camera2, url: "rtsp://127.0.0.1:1/unplugged", offline_after: 1s}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
topology: {listen: %q, bootstrap: true}
%s
users:
%s`, dir, src.URL("cam1"), tls("centre"), testkit.Port(t), sealsRig(t, dir), users.String()))
	r.base = "http://" + r.a.HTTPAddr()
	// a child site: links, relayed live video and replicated segments
	r.site, _ = startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), r.a.FederationAddr(), tls("site")))
	r.anon = newClient(t, r.base)
	r.anon.http.Timeout = time.Minute
	for role := range r.pw {
		r.as[role] = r.login(role)
	}
	r.routes = http.NewServeMux()
	for _, rt := range r.a.Routes() {
		r.routes.Handle(rt.Pattern, http.NotFoundHandler())
		r.roleOf[rt.Pattern] = rt.Role
	}
	for _, o := range r.spec.ops() {
		if _, routed := r.route(o); !routed && slices.Contains(notMounted, o.Path) {
			r.skipped[o.Path] = true
		}
	}
	return r
}

// sealsRig makes the node the operator KZ.KTZE of the seal exchange, with
// a partner whose exchange is down (its messages wait in its outbox).
func sealsRig(t *testing.T, dir string) string {
	for _, ca := range []string{"kz", "ru"} {
		if err := pki.InitCA(filepath.Join(dir, ca), ca+" operators", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	iss, err := pki.IssueOperator(filepath.Join(dir, "kz"), "KZ.KTZE", []string{"127.0.0.1"}, filepath.Join(dir, "kz"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`seals:
  operator: KZ.KTZE
  listen: "127.0.0.1:0"
  tls: {cert: %s, key: %s}
  partners: [{id: RU.GLONASS, url: "https://127.0.0.1:1", ca: %s/ru/ca.pem, roles: [national, transit]}]`, iss.CertPath, iss.KeyPath, dir)
}

func (r *apiRig) login(role auth.Role) *client {
	c := newClient(r.top, r.base)
	c.http.Timeout = time.Minute
	if code := c.login(r.pw[role][0], r.pw[role][1]); code != 200 {
		r.top.Fatalf("login as %s: %d", role, code)
	}
	return c
}

// route is the node's pattern that serves a documented operation.
func (r *apiRig) route(o docOp) (string, bool) {
	req := httptest.NewRequest(o.Method, target(o, nil, nil), nil)
	_, pattern := r.routes.Handler(req)
	return pattern, pattern != ""
}

// specPaths maps a ServeMux pattern's path to the OpenAPI paths that
// document it: {name...} is {name}; a {$} path is documented with or
// without its trailing slash.
func specPaths(p string) []string {
	p = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
	if q, ok := strings.CutSuffix(p, "{$}"); ok {
		return []string{q, strings.TrimSuffix(q, "/")}
	}
	return []string{p}
}

// Every route a real node registers is documented; every documented
// operation is routed, answers 401 without credentials, 403 to the role
// below the one it names and neither to that role; and every answer has
// the documented status and shape.
func TestOpenAPIMatchesNode(t *testing.T) {
	r := startAPIRig(t)
	spec := r.spec
	sub := func(name string, f func(t *testing.T)) {
		t.Run(name, func(st *testing.T) {
			r.t = st
			defer func() { r.t = t }()
			f(st)
		})
	}

	sub("every route is documented", func(t *testing.T) {
		if len(r.a.Routes()) < 20 {
			t.Fatalf("the node recorded %d routes", len(r.a.Routes()))
		}
		for _, rt := range r.a.Routes() {
			method, path, hasMethod := strings.Cut(rt.Pattern, " ")
			if !hasMethod {
				method, path = "", rt.Pattern
			}
			if strings.HasSuffix(path, "/") && !strings.HasSuffix(path, "{$}") {
				under := false
				for p := range spec.Paths {
					under = under || strings.HasPrefix(p, path)
				}
				if !under {
					t.Errorf("mount %q: no documented path under it", rt.Pattern)
				}
				continue
			}
			found := false
			for _, p := range specPaths(path) {
				item, ok := spec.Paths[p]
				if !ok {
					continue
				}
				if _, ok := item.operations()[method]; ok || (method == "" && len(item.operations()) > 0) {
					found = true
				}
			}
			if !found {
				t.Errorf("route %q (role %v) is not documented", rt.Pattern, rt.Role)
			}
		}
	})

	sub("documented roles match the routes", func(t *testing.T) {
		for _, o := range spec.ops() {
			pattern, ok := r.route(o)
			switch {
			case !ok && r.skipped[o.Path]:
				t.Logf("%s: not mounted on this node; not checked", o)
			case !ok:
				t.Errorf("%s: documented but no route of the node serves it", o)
			case r.skipped[o.Path]:
				t.Errorf("%s is routed now (%q): remove it from notMounted", o, pattern)
			case r.roleOf[pattern] != 0 && r.roleOf[pattern] != o.Role:
				t.Errorf("%s: documented for %s, but route %q is guarded for %v", o, o.oaOperation.Role, pattern, r.roleOf[pattern])
			}
		}
	})

	waitLeader(t, r)

	sub("documented operations answer with their roles", func(t *testing.T) {
		checked := 0
		for _, o := range spec.ops() {
			if r.skipped[o.Path] {
				continue
			}
			checked++
			body := ""
			if o.Method != "GET" && o.Method != "HEAD" {
				body = "{}"
			}
			tg := target(o, nil, nil)
			code, _, b := r.send(r.anon, o, tg, body, nil)
			switch {
			case o.Role == 0 && (code == 401 || code == 403):
				t.Errorf("%s needs no login, but without credentials: %d %.200s", o, code, b)
			case o.Role != 0 && code != 401:
				t.Errorf("%s without credentials: %d, want 401: %.200s", o, code, b)
			}
			if o.Role == 0 {
				continue
			}
			if o.Role > auth.RoleViewer {
				if code, _, b := r.send(r.as[o.Role-1], o, tg, body, nil); code != 403 {
					t.Errorf("%s as %s: %d, want 403: %.200s", o, o.Role-1, code, b)
				}
			}
			if code, _, b := r.send(r.as[o.Role], o, tg, body, nil); code == 401 || code == 403 {
				t.Errorf("%s as %s: %d: %.200s", o, o.Role, code, b)
			}
			if body != "" { // the change may have been a logout
				if code, _ := r.as[o.Role].do("GET", "/api/v1/auth/me", ""); code == 401 {
					r.as[o.Role] = r.login(o.Role)
				}
			}
		}
		if checked < 60 {
			t.Errorf("only %d operations checked", checked)
		}
	})

	sub("answers have the documented shapes", func(t *testing.T) { checkShapes(t, r) })
	sub("malformed requests are refused naming what is wrong", func(t *testing.T) { checkMalformed(t, r) })
}

// waitLeader waits for the node's catalogue replica to lead, so that
// catalogue writes are answered rather than held.
func waitLeader(t *testing.T, r *apiRig) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		_, body := r.as[auth.RoleViewer].do("GET", "/api/v1/topology/status", "")
		var st struct{ State string }
		if json.Unmarshal([]byte(body), &st) == nil && st.State == "leader" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalogue replica never led: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkShapes calls the API with real data behind it — recorded segments,
// a plate read with snapshots, alarms, catalogue records, audit entries —
// and validates every answer against the description.
func checkShapes(t *testing.T, r *apiRig) {
	viewer, operator, engineer, admin := r.as[auth.RoleViewer], r.as[auth.RoleOperator], r.as[auth.RoleEngineer], r.as[auth.RoleAdmin]

	// a closed segment of Camera1
	var seg archive.Segment
	deadline := time.Now().Add(45 * time.Second)
	for {
		segs, _ := r.a.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
		if len(segs) > 0 {
			seg = segs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Camera1 recorded nothing: %+v", r.a.Site().Status())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// a plate read with its snapshots, as the analyzer stores one
	overview, crop := "Camera1/2026/01/01/120000.000_123ABC02_overview.jpg", "Camera1/2026/01/01/120000.000_123ABC02_crop.jpg"
	for _, rel := range []string{overview, crop} {
		writeTestJPEG(t, filepath.Join(r.a.PlatesDir(), filepath.FromSlash(rel)))
	}
	at := seg.Start.Add(time.Second)
	pr := plates.PlateRead{Plate: "123ABC02", Country: "KZ", Confidence: 0.93, Direction: "entry", First: at, Last: at.Add(2 * time.Second),
		Frames: 9, Overview: overview, Crop: crop, Archive: seg.Path, ArchiveLink: archive.CGRLink(seg.Path), Offset: 1,
		Candidates: []plates.Candidate{{Text: "123ABC02", Country: "KZ", Confidence: 0.93}}}
	e := event.New(plates.KindPlateRead, "Camera1", event.SeverityInfo, pr)
	e.Time = at
	read, err := r.a.Events().Append(e)
	if err != nil {
		t.Fatal(err)
	}
	seq := strconv.FormatUint(read.Seq, 10)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, ok, _ := r.a.plates.Lookup(read.ID()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the plate read was never indexed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	rng := url.Values{"from": {seg.Start.Format(time.RFC3339Nano)}, "to": {seg.End.Format(time.RFC3339Nano)}}
	withCam := func(q url.Values) url.Values {
		out := url.Values{"camera": {"Camera1"}}
		for k, v := range q {
			out[k] = v
		}
		return out
	}
	cam := map[string]string{"camera": "Camera1"}
	r.call(viewer, "GET", "/api/v1/node", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/federation", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/tree", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/cameras", nil, nil, "", 200)
	if b := r.call(viewer, "GET", "/api/v1/cameras/{camera}/segments", cam, url.Values{"from": {seg.Start.Add(-time.Minute).Format(time.RFC3339)}}, "", 200); !strings.Contains(string(b), seg.Path) {
		t.Errorf("segments of Camera1 lack %s: %s", seg.Path, b)
	}
	r.call(viewer, "GET", "/api/v1/cameras/{camera}/gaps", cam, nil, "", 200)

	// plates: search, snapshots, a correction
	if b := r.call(viewer, "GET", "/api/v1/plates", nil, url.Values{"plate": {"123abc02"}}, "", 200); !strings.Contains(string(b), read.ID()) {
		t.Errorf("plate search does not find %s: %s", read.ID(), b)
	}
	r.call(viewer, "GET", "/api/v1/plates", nil, url.Values{"camera": {"Camera1"}, "from": {seg.Start.Format(time.RFC3339)}}, "", 200)
	img := map[string]string{"origin": "centre", "seq": seq, "image": "overview.jpg"}
	r.call(viewer, "GET", "/api/v1/plates/{origin}/{seq}/{image}", img, nil, "", 200)
	img["image"] = "crop.jpg"
	r.call(viewer, "GET", "/api/v1/plates/{origin}/{seq}/{image}", img, nil, "", 200)
	read2 := map[string]string{"origin": "centre", "seq": seq}
	fix := `{"plate": "123 ABD 02", "comment": "checked at the gate"}`
	r.call(operator, "POST", "/api/v1/plates/{origin}/{seq}/correction", read2, nil, fix, 200)
	r.call(operator, "POST", "/api/v1/plates/{origin}/{seq}/correction", read2, nil, fix, 409)
	if b := r.call(viewer, "GET", "/api/v1/plates", nil, url.Values{"plate": {"123ABD02"}, "match": {"fuzzy"}}, "", 200); !strings.Contains(string(b), `"previous"`) {
		t.Errorf("the corrected read does not show its correction: %s", b)
	}

	// archive
	r.call(viewer, "GET", "/api/v1/archive/cameras", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/archive/segments", nil, withCam(rng), "", 200)
	r.call(viewer, "GET", "/api/v1/archive/gaps", nil, withCam(rng), "", 200)
	r.call(viewer, "GET", "/api/v1/archive/cameras/{camera}/segments", cam, rng, "", 200)
	r.call(viewer, "GET", "/api/v1/archive/cameras/{camera}/gaps", cam, rng, "", 200)
	file := map[string]string{"path": seg.Path}
	// files, media and cuts are exports (issue 14): operators
	r.call(operator, "GET", "/api/v1/archive/files/{path}", file, nil, "", 200)
	r.call(operator, "HEAD", "/api/v1/archive/files/{path}", file, nil, "", 200)
	op, _ := r.spec.op("GET", "/api/v1/archive/files/{path}")
	if code, h, b := r.send(operator, op, target(op, file, nil), "", http.Header{"Range": {"bytes=0-99"}}); code != 206 || len(b) != 100 || h.Get("Content-Range") == "" {
		t.Errorf("ranged download: %d, %d bytes, Content-Range %q", code, len(b), h.Get("Content-Range"))
	}
	r.call(operator, "GET", "/api/v1/archive/files/{path}", map[string]string{"path": "Camera1/1999/01/01/00/Camera1_1999_01_01_00_00.mp4"}, nil, "", 404)
	r.call(operator, "GET", "/api/v1/archive/media/{shift}/{path}", map[string]string{"shift": "90000", "path": seg.Path}, nil, "", 200)
	pl := r.call(viewer, "GET", "/api/v1/archive/play.m3u8", nil, withCam(rng), "", 200)
	if b := r.call(viewer, "GET", "/api/v1/archive/transcode.mp4", nil, withCam(rng), "", 400); !strings.Contains(string(b), "no transcoding needed") {
		t.Errorf("transcoding an H.264 range: %s", b)
	}
	// the playlist's media links: the listed range, to the viewer
	if m := regexp.MustCompile(`#EXT-X-BYTERANGE:(\d+)@(\d+)\nvod/([^/\s]+)/`).FindSubmatch(pl); m == nil {
		t.Errorf("playlist without media links: %s", pl)
	} else {
		n, _ := strconv.Atoi(string(m[1]))
		off, _ := strconv.Atoi(string(m[2]))
		vod, _ := r.spec.op("GET", "/api/v1/archive/vod/{link}/{path}")
		tg := target(vod, map[string]string{"link": string(m[3]), "path": seg.Path}, nil)
		if code, _, b := r.send(viewer, vod, tg, "", http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+n-1)}}); code != 206 || len(b) != n {
			t.Errorf("media link: %d, %d bytes of %d", code, len(b), n)
		}
		if code, _, _ := r.send(viewer, vod, tg, "", nil); code != 416 {
			t.Errorf("media link without Range: %d", code)
		}
	}
	r.call(operator, "GET", "/api/v1/archive/export.mp4", nil, withCam(rng), "", 200)

	// an export package: started, followed, downloaded, and it verifies
	body := fmt.Sprintf(`{"cameras": ["Camera1", "Camera9"], "from": %q, "to": %q, "reason": "openapi check", "case": "C-1"}`,
		seg.Start.Format(time.RFC3339Nano), seg.End.Format(time.RFC3339Nano))
	var job struct{ ID, State, Error string }
	_ = json.Unmarshal(r.call(operator, "POST", "/api/v1/exports", nil, nil, body, 202), &job)
	for deadline := time.Now().Add(30 * time.Second); job.State != "done"; time.Sleep(100 * time.Millisecond) {
		_ = json.Unmarshal(r.call(operator, "GET", "/api/v1/exports/{id}", map[string]string{"id": job.ID}, nil, "", 200), &job)
		if job.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("export package: %+v", job)
		}
	}
	r.call(operator, "GET", "/api/v1/exports", nil, nil, "", 200)
	pkg := r.call(operator, "GET", "/api/v1/exports/{id}/package.zip", map[string]string{"id": job.ID}, nil, "", 200)
	if rep, err := evidence.Verify(bytes.NewReader(pkg), int64(len(pkg)), nil); err != nil || len(rep.Manifest.Files) != 2 ||
		rep.Manifest.Files[1].Missing == "" || rep.Manifest.User != "olga" || rep.Manifest.Case != "C-1" {
		t.Errorf("export package: %v %+v", err, rep)
	}
	r.call(admin, "GET", "/api/v1/exports/{id}", map[string]string{"id": job.ID}, nil, "", 404) // another user's

	// live
	r.callSoon(viewer, "GET", "/live/{camera}/index.m3u8", cam, 200)
	r.call(viewer, "GET", "/live/{camera}/index.m3u8", map[string]string{"camera": "Camera9"}, nil, "", 404)
	r.call(viewer, "GET", "/live/{origin}/{camera}/index.m3u8", map[string]string{"origin": "site-b", "camera": "Camera1"}, nil, "", 502)

	// the child: its link, its camera relayed, its segments replicated
	var fed struct {
		Children []struct{ Connected bool }
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		_ = json.Unmarshal(r.call(viewer, "GET", "/api/v1/federation", nil, nil, "", 200), &fed)
		if len(fed.Children) == 1 && fed.Children[0].Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the site never linked: %+v", fed)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.callAt("http://"+r.site.HTTPAddr(), r.anon, "GET", "/api/v1/federation", nil, nil, "", 200)
	r.callAt("http://"+r.site.HTTPAddr(), r.anon, "GET", "/api/v1/node", nil, nil, "", 200)
	relayed := map[string]string{"origin": "site", "camera": "Camera1"}
	r.callSoon(viewer, "GET", "/live/{origin}/{camera}/index.m3u8", relayed, 200)
	r.webrtc(viewer)
	var replica archive.Segment
	for deadline := time.Now().Add(45 * time.Second); ; {
		if segs, _ := r.a.Archive().Index().Segments("site/Camera1", time.Time{}, time.Time{}); len(segs) > 0 {
			replica = segs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no segment of site/Camera1 replicated")
		}
		time.Sleep(200 * time.Millisecond)
	}
	rrng := url.Values{"from": {replica.Start.Format(time.RFC3339Nano)}, "to": {replica.End.Format(time.RFC3339Nano)}}
	if b := r.call(viewer, "GET", "/api/v1/archive/cameras/{camera}/segments", map[string]string{"camera": "site/Camera1"}, rrng, "", 200); !strings.Contains(string(b), replica.Path) {
		t.Errorf("replica listing lacks %s: %s", replica.Path, b)
	}
	rrng.Set("camera", "site/Camera1")
	r.call(viewer, "GET", "/api/v1/archive/play.m3u8", nil, rrng, "", 200)
	if b := r.call(viewer, "GET", "/api/v1/tree", nil, nil, "", 200); !strings.Contains(string(b), `"site/Camera1"`) {
		t.Errorf("the tree lacks the site's camera: %s", b)
	}

	// logins and tokens
	r.call(viewer, "GET", "/api/v1/auth/me", nil, nil, "", 200)
	var tok struct{ Token string }
	_ = json.Unmarshal(r.call(admin, "POST", "/api/v1/auth/tokens", nil, nil, `{"name": "plate-api", "role": "operator"}`, 201), &tok)
	r.call(admin, "POST", "/api/v1/auth/tokens", nil, nil, `{"name": "plate-api", "role": "viewer"}`, 409)
	r.call(admin, "GET", "/api/v1/auth/tokens", nil, nil, "", 200)
	bearer := newClient(r.top, r.base)
	bearer.http.Transport = bearerTransport(tok.Token)
	if b := r.call(bearer, "GET", "/api/v1/auth/me", nil, nil, "", 200); !strings.Contains(string(b), `"token:plate-api"`) {
		t.Errorf("me with the token: %s", b)
	}
	r.call(bearer, "POST", "/api/v1/auth/logout", nil, nil, "", 400)
	r.call(admin, "DELETE", "/api/v1/auth/tokens/{name}", map[string]string{"name": "plate-api"}, nil, "", 200)
	r.call(bearer, "GET", "/api/v1/auth/me", nil, nil, "", 401)
	r.call(r.anon, "POST", "/api/v1/auth/login", nil, nil, `{"user": "vera", "password": "not-the-password"}`, 401)

	// the catalogue
	for _, w := range []struct {
		as         *client
		path, body string
	}{
		{engineer, "/api/v1/topology/nodes", `{"id": "centre", "role": "centre", "name": "Central monitoring", "addresses": ["127.0.0.1:7443"]}`},
		{engineer, "/api/v1/topology/nodes", `{"id": "site-a", "role": "site", "parent": "centre", "cert_serial": "0a1b"}`},
		{engineer, "/api/v1/topology/zones", `{"id": "lane-1", "name": "Lane 1", "site": "site-a"}`},
		{engineer, "/api/v1/topology/cameras", `{"id": "Gate1", "site": "site-a", "url": "rtsp://viewer:secret@127.0.0.1:1/ch1", "zone": "lane-1",
			"retention_days": 90, "analytics": {"anpr": {"enabled": true, "fps": 5, "roi": [0, 200, 1280, 520], "countries": ["KZ"], "axis": "down"}}}`},
		{engineer, "/api/v1/topology/policies", `{"node": "site-a", "fragments": "referenced", "mbps": 20}`},
		{admin, "/api/v1/topology/users", fmt.Sprintf(`{"name": "kira", "role": "viewer", "password_hash": %q, "allow": ["10.20.0.0/16"]}`, cheapHash(t, "kira-pass"))},
	} {
		r.call(w.as, "POST", w.path, nil, nil, w.body, 200)
	}
	r.call(engineer, "POST", "/api/v1/topology/nodes", nil, url.Values{"create": {"true"}}, `{"id": "site-a", "role": "site", "parent": "centre"}`, 409)
	r.call(viewer, "GET", "/api/v1/topology", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/topology", nil, url.Values{"consistent": {"true"}}, "", 200)
	r.call(viewer, "GET", "/api/v1/topology/status", nil, nil, "", 200)
	site, siteCam := map[string]string{"node": "site-a", "site": "site-a", "id": "site-a"}, map[string]string{"site": "site-a", "id": "Gate1"}
	r.call(admin, "GET", "/api/v1/topology/catalogue", nil, nil, "", 200)
	for _, p := range []string{"/api/v1/topology/slices/{node}", "/api/v1/topology/nodes", "/api/v1/topology/nodes/{id}",
		"/api/v1/topology/cameras", "/api/v1/topology/cameras/{site}", "/api/v1/topology/zones", "/api/v1/topology/policies", "/api/v1/topology/policies/{node}"} {
		r.call(engineer, "GET", p, site, nil, "", 200)
	}
	r.call(engineer, "GET", "/api/v1/topology/cameras/{site}/{id}", siteCam, nil, "", 200)
	r.call(engineer, "GET", "/api/v1/topology/zones/{id}", map[string]string{"id": "lane-1"}, nil, "", 200)
	r.call(admin, "GET", "/api/v1/topology/users", nil, nil, "", 200)
	r.call(admin, "GET", "/api/v1/topology/users/{name}", map[string]string{"name": "kira"}, nil, "", 200)
	r.call(engineer, "DELETE", "/api/v1/topology/nodes/{id}", site, nil, "", 409) // it has a camera and a zone
	r.call(engineer, "DELETE", "/api/v1/topology/cameras/{site}/{id}", siteCam, nil, "", 200)
	r.call(engineer, "POST", "/api/v1/topology/snapshot", nil, nil, "", 200)
	r.call(admin, "POST", "/api/v1/topology/bootstrap", nil, nil, `{"peers": []}`, 409)

	// the seal exchange: a seal registered, a shipment declared, readings
	// that take it off its route, a message queued for the partner
	r.call(engineer, "POST", "/api/v1/seals/registry", nil, nil, `{"seal": "KZ-0001234", "usable": true}`, 200)
	r.call(operator, "POST", "/api/v1/seals/shipments", nil, nil, fmt.Sprintf(`{"seal": "RU-7700123456", "shipment": "KZ/2026/000123", "since": %q,
		"operator": "RU.GLONASS", "plates": ["123ABC02"], "route": [[76, 43], [76, 45]], "period_minutes": 5, "countries": ["KZ", "RU"]}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), 200)
	now := time.Now().UTC().Format(time.RFC3339)
	if b := r.call(operator, "POST", "/api/v1/seals/readings", nil, nil, fmt.Sprintf(`{"seal": "RU-7700123456", "readings": [
		{"battery": 80, "longitude": 77, "latitude": 44, "speed": 60, "time": %q}]}`, now), 200); !strings.Contains(string(b), `"code": "03"`) {
		t.Errorf("a reading 80 km off the route opened no deviation: %s", b)
	}
	r.call(operator, "POST", "/api/v1/seals/messages", nil, nil, `{"to": "RU.GLONASS", "kind": "shipment_query", "shipment_query": {"shipment": "RU/1"}}`, 200)
	r.call(viewer, "GET", "/api/v1/seals/partners", nil, nil, "", 200)
	r.call(viewer, "GET", "/api/v1/seals/messages", nil, url.Values{"peer": {"RU.GLONASS"}}, "", 200)
	r.call(viewer, "GET", "/api/v1/seals/anomalies", nil, nil, "", 200)
	if b := r.call(viewer, "GET", "/api/v1/seals/{seal}", map[string]string{"seal": "RU-7700123456"}, nil, "", 200); !strings.Contains(string(b), "KZ/2026/000123") {
		t.Errorf("the seal's view lacks its shipment: %s", b)
	}
	// a read of the sealed vehicle now is linked to its seal, which is off
	// its route: the crossing is listed with the anomaly
	ce := event.New(plates.KindPlateRead, "Camera1", event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Country: "KZ", Confidence: 0.97,
		First: time.Now(), Last: time.Now(), Frames: 5})
	sealed, err := r.a.Events().Append(ce)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		b := r.call(viewer, "GET", "/api/v1/seals/vehicles/{plate}", map[string]string{"plate": "123 ABC 02"}, nil, "", 200)
		if strings.Contains(string(b), `"read": "`+sealed.ID()+`"`) && strings.Contains(string(b), `"code": "03"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sealed vehicle's read %s was never linked: %s", sealed.ID(), b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// a continuous camera has no event recording to start
	if b := r.call(operator, "POST", "/api/v1/cameras/{camera}/record", cam, nil, `{"reason": "a test"}`, 409); !strings.Contains(string(b), "records continuously") {
		t.Errorf("recording a continuous camera: %s", b)
	}

	// PTZ: Camera1 has none
	if b := r.call(viewer, "GET", "/api/v1/ptz/{camera}", cam, nil, "", 409); !strings.Contains(string(b), "camera Camera1 has no PTZ") {
		t.Errorf("PTZ of a fixed camera: %s", b)
	}

	// alarms: Camera2 never streams, so camera_offline is raised for it.
	// Where the node does not serve the alarm table yet, the table's own
	// handler answers, over the node's event log.
	base := r.base
	if r.skipped["/api/v1/alarms"] {
		m, err := alarm.Open(alarm.Options{Path: filepath.Join(t.TempDir(), "alarms.db"), Log: r.a.Events(),
			User: func(*http.Request) string { return r.pw[auth.RoleOperator][0] }})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		srv := httptest.NewServer(m.Handler())
		defer srv.Close()
		base = srv.URL
	}
	var id string
	for deadline := time.Now().Add(30 * time.Second); id == ""; {
		var as []struct{ ID, Type, Camera string }
		_ = json.Unmarshal(r.callAt(base, viewer, "GET", "/api/v1/alarms", nil, url.Values{"state": {"open"}}, "", 200), &as)
		for _, a := range as {
			if a.Type == event.AlarmCameraOffline && a.Camera == "Camera2" {
				id = a.ID
			}
		}
		if id == "" && time.Now().After(deadline) {
			t.Fatal("no camera_offline alarm for Camera2")
		}
		time.Sleep(200 * time.Millisecond)
	}
	alarmID := map[string]string{"id": id}
	r.callAt(base, viewer, "GET", "/api/v1/alarms/{id}", alarmID, nil, "", 200)
	r.callAt(base, viewer, "GET", "/api/v1/alarms/{id}", map[string]string{"id": "centre:nothing:1"}, nil, "", 404)
	r.callAt(base, viewer, "GET", "/api/v1/alarms", nil, url.Values{"severity": {"urgent"}}, "", 400)
	r.callAt(base, operator, "POST", "/api/v1/alarms/{id}/ack", alarmID, nil, `{"comment": "technician called"}`, 200)
	r.callAt(base, operator, "POST", "/api/v1/alarms/{id}/ack", alarmID, nil, `{}`, 409)
	r.callAt(base, operator, "POST", "/api/v1/alarms/{id}/clear", alarmID, nil, `{"comment": "fixed"}`, 400)
	r.callAt(base, operator, "POST", "/api/v1/alarms/{id}/clear", alarmID, nil, ``, 200)

	// the audit log and the events, payloads checked by kind
	r.call(admin, "GET", "/api/v1/audit", nil, url.Values{"limit": {"1000"}}, "", 200)
	if b := r.call(admin, "GET", "/api/v1/audit/verify", nil, nil, "", 200); !strings.Contains(string(b), `"ok":true`) {
		t.Errorf("audit verify: %s", b)
	}
	payloads := map[string]string{plates.KindPlateRead: "PlateRead", "plate.corrected": "Correction", "audit": "AuditPayload",
		event.KindSegmentClosed: "Segment", event.KindAlarmRaised: "AlarmPayload", event.KindAlarmCleared: "AlarmPayload", alarm.KindAcked: "AlarmPayload"}
	seen := map[string]bool{}
	for after := "0"; ; {
		// audit entries are in the feed for admins only (issue 14)
		b := r.call(admin, "GET", "/api/v1/events", nil, url.Values{"after": {after}, "limit": {"1000"}}, "", 200)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var evs []map[string]any
		if err := dec.Decode(&evs); err != nil || len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			kind, _ := ev["kind"].(string)
			if name, ok := payloads[kind]; ok {
				seen[kind] = true
				for _, e := range r.spec.validate(&oaSchema{Ref: "#/components/schemas/" + name}, ev["payload"], kind+" payload") {
					t.Error(e)
				}
			}
		}
		after = fmt.Sprint(evs[len(evs)-1]["pos"])
	}
	for _, kind := range []string{plates.KindPlateRead, "plate.corrected", "audit", event.KindSegmentClosed, event.KindAlarmRaised, alarm.KindAcked} {
		if !seen[kind] {
			t.Errorf("no %s event in the log to check", kind)
		}
	}
}

type bearerTransport string

func (b bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(req)
}

func writeTestJPEG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(1, 1, color.White)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkMalformed sends bad requests through the node: each is refused
// with the documented status and a message naming what was wrong, and
// nothing is stored.
func checkMalformed(t *testing.T, r *apiRig) {
	viewer, engineer, admin := r.as[auth.RoleViewer], r.as[auth.RoleEngineer], r.as[auth.RoleAdmin]
	cam := map[string]string{"camera": "Camera1"}
	cases := []struct {
		as     *client
		method string
		path   string
		params map[string]string
		query  url.Values
		body   string
		want   int
		says   string
	}{
		{viewer, "GET", "/api/v1/cameras/{camera}/segments", cam, url.Values{"from": {"yesterday"}}, "", 400, `from: \"yesterday\" is not an RFC 3339 time`},
		{viewer, "GET", "/api/v1/cameras/{camera}/gaps", cam, url.Values{"from": {"2025-08-18T14:00:00Z"}, "to": {"2025-08-18T15:00:00+05:00"}}, "", 400, "to must be after from"},
		{viewer, "GET", "/api/v1/cameras/{camera}/segments", cam, url.Values{"to": {"2025-13-01T00:00:00Z"}}, "", 400, "to: "},
		{viewer, "GET", "/api/v1/events", nil, url.Values{"limit": {"5000"}}, "", 400, "limit"},
		{viewer, "GET", "/api/v1/events", nil, url.Values{"after": {"18446744073709551615"}}, "", 400, "after: "},
		{viewer, "GET", "/api/v1/events", nil, url.Values{"kind": {"audit"}}, "", 403, "kind audit"},
		{viewer, "GET", "/api/v1/plates", nil, url.Values{"plate": {"123ABC02"}, "match": {"regex"}}, "", 400, `match: \"regex\" must be exact, prefix or fuzzy`},
		{viewer, "GET", "/api/v1/plates", nil, nil, "", 400, "plate: required"},
		{viewer, "GET", "/api/v1/archive/segments", nil, url.Values{"camera": {"Camera1"}, "from": {"2025-08-18T14:00:00Z"}, "to": {"noon"}}, "", 400, `"param": "to"`},
		{viewer, "GET", "/api/v1/archive/play.m3u8", nil, url.Values{"camera": nil, "from": {"2025-08-18T14:00:00Z"}, "to": {"2025-08-18T14:01:00Z"}}, "", 400, `"param": "camera"`},
		{r.as[auth.RoleOperator], "GET", "/api/v1/archive/files/{path}", map[string]string{"path": "Camera1/x.txt"}, nil, "", 400, `"param": "path"`},
		{r.anon, "POST", "/api/v1/auth/login", nil, nil, `{"user": "vera", "password":`, 400, "login: body ends inside the JSON object"},
		{r.anon, "POST", "/api/v1/auth/login", nil, nil, `{"user": "vera", "password": "viewer-pass", "otp": 1}`, 400, `unknown field \"otp\"`},
		{r.anon, "POST", "/api/v1/auth/login", nil, nil, `{"user": "vera"}`, 400, "user and password are both required"},
		{admin, "POST", "/api/v1/auth/tokens", nil, nil, `{"name": "x", "role": "king"}`, 400, `role \"king\"`},
		{admin, "GET", "/api/v1/audit", nil, url.Values{"usr": {"olga"}}, "", 400, `unknown parameter \"usr\"`},
		{engineer, "POST", "/api/v1/topology/nodes", nil, nil, `{"id": "site-z", "role": "site", "parnet": "centre"}`, 400, `parnet`},
		{engineer, "POST", "/api/v1/topology/nodes", nil, nil, `{"id": "site z", "role": "site"}`, 400, `"code": "invalid"`},
		{engineer, "POST", "/api/v1/topology/nodes", nil, url.Values{"create": {"maybe"}}, `{"id": "site-z", "role": "site"}`, 400, "create must be true or false"},
		{engineer, "GET", "/api/v1/topology/nodes/{id}", map[string]string{"id": "site-z"}, nil, "", 404, "node site-z does not exist"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/exports", nil, nil, `{"cameras": ["Camera1"], "from": "2025-08-18T14:00:00Z", "to": "2025-08-18T15:00:00Z"}`, 400, "reason: say why"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/seals/messages", nil, nil, `{"to": "KZ.KTZE", "kind": "shipment_query", "shipment_query": {"shipment": "RU/1"}}`, 400, "to: KZ.KTZE is this operator"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/seals/messages", nil, nil, `{"to": "RU.GLONASS", "kind": "ownership_query", "ownership_query": {"seal": "ru 1"}}`, 400, "ownership_query.seal"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/seals/readings", nil, nil, `{"seal": "RU-7700123456", "readings": [{"battery": 50, "longitude": 200, "latitude": 1, "speed": 1, "time": "2026-01-01T00:00:00Z"}]}`, 400, "readings[0].longitude"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/seals/shipments", nil, nil, `{"seal": "RU-7700123456", "shipment": "KZ/1", "period_minutes": 121}`, 400, "period_minutes: 121 is outside 1..120"},
		{r.as[auth.RoleOperator], "POST", "/api/v1/exports", nil, nil, `{"cameras": ["Camera1"], "from": "2025-08-18T14:00:00Z", "to": "2025-08-20T15:00:00Z", "reason": "x"}`, 400, "at most 24 h"},
	}
	for _, c := range cases {
		b := r.call(c.as, c.method, c.path, c.params, c.query, c.body, c.want)
		if !strings.Contains(string(b), c.says) {
			t.Errorf("%s %s %v %s: answer does not say %q: %s", c.method, c.path, c.query, c.body, c.says, b)
		}
	}

	// a wrong content type to the login
	op, _ := r.spec.op("POST", "/api/v1/auth/login")
	req, _ := http.NewRequest("POST", r.base+"/api/v1/auth/login", strings.NewReader("user=vera&password=viewer-pass"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.checkAnswer(op, "/api/v1/auth/login", resp, b)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(b), "Content-Type must be application/json") {
		t.Errorf("form login: %d %s", resp.StatusCode, b)
	}

	// a body over the limit is refused before it is read; nothing changes
	zones := func() string { _, b := engineer.do("GET", "/api/v1/topology/zones", ""); return b }
	before := zones()
	huge := `{"id": "lane-9", "description": "` + strings.Repeat("x", 2<<20) + `"}`
	op, _ = r.spec.op("POST", "/api/v1/topology/zones")
	if code, _, b := r.send(engineer, op, "/api/v1/topology/zones", huge, nil); code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "exceeds") {
		t.Errorf("2 MiB zone: %d %s", code, b)
	}
	if after := zones(); after != before {
		t.Errorf("the refused zone changed the catalogue:\n%s\n%s", before, after)
	}
}

// The route table names the catalogue API where topology's client calls it.
func TestRouteTableCataloguePath(t *testing.T) {
	if api.CataloguePath != topology.APIPath {
		t.Fatalf("the route table serves the catalogue at %s, its client calls %s", api.CataloguePath, topology.APIPath)
	}
}
