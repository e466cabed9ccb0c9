package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// DescribeChange says what a catalogue API write asks for, for the audit
// log: the record, and each field it changes against c (the catalogue as
// this replica holds it when the request comes), old → new. Secrets are
// never written out: a camera's password shows as set, changed or removed,
// a user's password hash as set or changed. path is below APIPath (e.g.
// "/cameras"); body is the request body. Reads and unknown paths give "".
func DescribeChange(c *Catalogue, method, path string, body []byte) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	kind := parts[0]
	switch {
	case method == http.MethodPost && len(parts) == 1 && recordKinds[kind] != "":
		return describePut(c, kind, body)
	case method == http.MethodDelete && len(parts) >= 2 && recordKinds[kind] != "":
		return describeDelete(c, kind, parts[1:])
	case kind == "members" && method == http.MethodPost:
		var p Peer
		if json.Unmarshal(body, &p) != nil {
			return "join a replica (unreadable request)"
		}
		return fmt.Sprintf("join replica %q at %q", p.ID, p.Address)
	case kind == "members" && method == http.MethodDelete && len(parts) == 2:
		return fmt.Sprintf("remove replica %q", parts[1])
	case kind == "bootstrap" && method == http.MethodPost:
		var b struct{ Peers []Peer }
		_ = json.Unmarshal(body, &b)
		var ps []string
		for _, p := range b.Peers {
			ps = append(ps, p.ID+"="+p.Address)
		}
		return "bootstrap a catalogue cluster with peers [" + strings.Join(ps, " ") + "]"
	case kind == "snapshot" && method == http.MethodPost:
		return "take a snapshot"
	}
	return ""
}

// recordKinds maps API paths to record names.
var recordKinds = map[string]string{
	KindNodes: "node", KindCameras: "camera", KindZones: "zone", KindUsers: "user", KindPolicies: "policy",
}

func describePut(c *Catalogue, kind string, body []byte) string {
	what := recordKinds[kind]
	var (
		key        string
		oldR, newR any
		exists     bool
		secret     string
	)
	bad := func(err error) string { return fmt.Sprintf("put %s: unreadable request (%v)", what, err) }
	switch kind {
	case KindNodes:
		var n Node
		if err := json.Unmarshal(body, &n); err != nil {
			return bad(err)
		}
		_ = n.check()
		var o Node
		o, exists = c.Node(n.ID)
		key, oldR, newR = n.ID, o, n
	case KindCameras:
		var cam Camera
		if err := json.Unmarshal(body, &cam); err != nil {
			return bad(err)
		}
		_ = cam.check()
		var o Camera
		o, exists = c.Camera(cam.Site, cam.ID)
		secret = passwordChange(cam, o, exists)
		if t := ingestTokenChange(cam, o, exists); t != "" {
			secret = strings.TrimPrefix(secret+"; "+t, "; ")
		}
		newC, oldC := cam.Redacted(), o.Redacted()
		newC.PasswordSet, oldC.PasswordSet = nil, nil
		key, oldR, newR = cam.Key(), oldC, newC
	case KindZones:
		var z Zone
		if err := json.Unmarshal(body, &z); err != nil {
			return bad(err)
		}
		_ = z.check()
		var o Zone
		o, exists = c.Zone(z.ID)
		secret = readerTokenChanges(z, o, exists)
		key, oldR, newR = z.ID, o.Redacted(), z.Redacted()
	case KindUsers:
		var u User
		if err := json.Unmarshal(body, &u); err != nil {
			return bad(err)
		}
		_ = u.check()
		o, ok := c.User(u.Name)
		exists = ok
		switch {
		case u.PasswordHash == "":
		case !exists || o.PasswordHash == "":
			secret = "password_hash: set"
		case o.PasswordHash != u.PasswordHash:
			secret = "password_hash: changed"
		}
		u.PasswordHash, o.PasswordHash = "", ""
		key, oldR, newR = u.Name, o, u
	case KindPolicies:
		var p Policy
		if err := json.Unmarshal(body, &p); err != nil {
			return bad(err)
		}
		_ = p.check()
		var o Policy
		o, exists = c.Policy(p.Node)
		key, oldR, newR = p.Node, o, p
	}
	var changes []string
	newF := flatten(newR)
	if !exists {
		for _, k := range slices.Sorted(maps.Keys(newF)) {
			changes = append(changes, k+"="+newF[k])
		}
	} else {
		oldF := flatten(oldR)
		keys := slices.AppendSeq(slices.Collect(maps.Keys(newF)), maps.Keys(oldF))
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			o, okO := oldF[k]
			n, okN := newF[k]
			switch {
			case o == n:
			case !okO:
				changes = append(changes, fmt.Sprintf("%s: (none) → %s", k, n))
			case !okN:
				changes = append(changes, fmt.Sprintf("%s: %s → (none)", k, o))
			default:
				changes = append(changes, fmt.Sprintf("%s: %s → %s", k, o, n))
			}
		}
	}
	if secret != "" {
		changes = append(changes, secret)
	}
	head := fmt.Sprintf("put %s %s", what, key)
	if !exists {
		head += " (new)"
	}
	if len(changes) == 0 {
		return head + ": no change"
	}
	return head + ": " + strings.Join(changes, "; ")
}

// ingestTokenChange says what a camera put (checked: a token given is
// hashed) does to the stored plate-event token.
func ingestTokenChange(cam, old Camera, exists bool) string {
	var had string
	if o := old.Analytics.ANPR.Ingest; exists && o != nil {
		had = o.TokenSHA256
	}
	in := cam.Analytics.ANPR.Ingest
	switch {
	case in == nil && had != "":
		return "ingest token: removed"
	case in == nil || in.TokenSHA256 == "" || in.TokenSHA256 == had:
		return ""
	case had == "":
		return "ingest token: set"
	}
	return "ingest token: changed"
}

// readerTokenChanges says what a zone put (checked: tokens given are
// hashed) does to its readers' stored tokens, without the tokens.
func readerTokenChanges(z, old Zone, exists bool) string {
	had := map[string]string{}
	if exists {
		for _, r := range old.Readers {
			had[r.ID] = r.TokenSHA256
		}
	}
	var out []string
	for _, r := range z.Readers {
		switch h, ok := had[r.ID]; {
		case r.TokenSHA256 == "" || r.TokenSHA256 == h:
		case !ok:
			out = append(out, "reader "+r.ID+" token: set")
		default:
			out = append(out, "reader "+r.ID+" token: changed")
		}
	}
	return strings.Join(out, "; ")
}

// passwordChange says what a camera put does to the stored password,
// without saying the password.
func passwordChange(cam, old Camera, exists bool) string {
	_, given, _, hasGiven := urlPassword(cam.URL)
	_, had, _, hasOld := urlPassword(old.URL)
	hasOld = hasOld && exists
	switch {
	case hasGiven && !hasOld:
		return "password: set"
	case hasGiven && given != had:
		return "password: changed"
	case hasGiven:
		return ""
	case cam.PasswordSet != nil && !*cam.PasswordSet && hasOld:
		return "password: removed"
	}
	if _, _, hasUser, _ := urlPassword(cam.URL); !hasUser && hasOld {
		return "password: removed (no user in the url)"
	}
	return ""
}

func describeDelete(c *Catalogue, kind string, ids []string) string {
	what := recordKinds[kind]
	var rec any
	var ok bool
	id := strings.Join(ids, "/")
	switch kind {
	case KindNodes:
		rec, ok = c.Node(ids[0])
	case KindCameras:
		if len(ids) == 2 {
			var cam Camera
			cam, ok = c.Camera(ids[0], ids[1])
			cam = cam.Redacted()
			cam.PasswordSet = nil
			rec = cam
		}
	case KindZones:
		var z Zone
		z, ok = c.Zone(ids[0])
		rec = z.Redacted()
	case KindUsers:
		var u User
		u, ok = c.User(ids[0])
		u.PasswordHash = ""
		rec = u
	case KindPolicies:
		rec, ok = c.Policy(ids[0])
	}
	if !ok {
		return fmt.Sprintf("delete %s %s (not in this replica's catalogue)", what, id)
	}
	f := flatten(rec)
	var was []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		was = append(was, k+"="+f[k])
	}
	return fmt.Sprintf("delete %s %s; it was: %s", what, id, strings.Join(was, "; "))
}

// flatten turns a record into its JSON fields, nested ones with dotted
// names, each value as compact JSON; empty values are left out.
func flatten(v any) map[string]string {
	out := map[string]string{}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return out
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			switch x := v.(type) {
			case nil:
				continue
			case bool:
				if !x {
					continue
				}
			case string:
				if x == "" {
					continue
				}
			case json.Number:
				if x.String() == "0" {
					continue
				}
			case []any:
				if len(x) == 0 {
					continue
				}
			}
			enc, _ := json.Marshal(v)
			out[prefix+k] = string(enc)
		}
	}
	walk("", m)
	return out
}
