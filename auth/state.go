package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketSessions = []byte("sessions") // sha256(cookie) hex -> session
	bucketTokens   = []byte("tokens")   // token name -> apiToken
)

// Errors from token management.
var (
	ErrTokenExists   = errors.New("API token already exists")
	ErrTokenNotFound = errors.New("API token does not exist")
)

// session is a logged-in browser. Only the hash of its cookie is kept, so
// a copy of the state file does not let anyone in.
type session struct {
	User     string    `json:"user"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Source   string    `json:"source"`

	saved time.Time // LastSeen as last written to disk
}

// apiToken is a system's credential, kept as the hash of its secret.
type apiToken struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"hash"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// TokenInfo describes an API token without its secret.
type TokenInfo struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// state holds sessions and tokens in memory, written through to an
// optional bbolt file so that a restart logs nobody out.
type state struct {
	db       *bolt.DB // nil: memory only
	mu       sync.Mutex
	sessions map[string]*session  // by cookie hash
	tokens   map[string]*apiToken // by secret hash
}

func openState(path string) (*state, error) {
	s := &state{sessions: map[string]*session{}, tokens: map[string]*apiToken{}}
	if path == "" {
		return s, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open auth state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		sb, err := tx.CreateBucketIfNotExists(bucketSessions)
		if err != nil {
			return err
		}
		tb, err := tx.CreateBucketIfNotExists(bucketTokens)
		if err != nil {
			return err
		}
		if err := sb.ForEach(func(k, v []byte) error {
			var se session
			if err := json.Unmarshal(v, &se); err != nil {
				return fmt.Errorf("session %.8s…: %w", k, err)
			}
			se.saved = se.LastSeen
			s.sessions[string(k)] = &se
			return nil
		}); err != nil {
			return err
		}
		return tb.ForEach(func(k, v []byte) error {
			var t apiToken
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("API token %s: %w", k, err)
			}
			if !t.Role.Valid() || len(t.Hash) != 64 {
				return fmt.Errorf("API token %s: bad role or hash", k)
			}
			s.tokens[t.Hash] = &t
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load auth state %s: %w", path, err)
	}
	s.db = db
	return s, nil
}

func (s *state) close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// update runs fn against the file, if there is one.
func (s *state) update(fn func(tx *bolt.Tx) error) error {
	if s.db == nil {
		return nil
	}
	return s.db.Update(fn)
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

// secret returns 256 random bits, printable.
func secret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// addSession stores a new session; when the user already has max of them,
// the least recently used ones make room. Expired sessions of anyone are
// swept here, so the table cannot grow without logins happening.
func (s *state) addSession(id string, se *session, max int, expired func(*session) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var drop []string
	var mine []string
	for k, o := range s.sessions {
		switch {
		case expired(o):
			drop = append(drop, k)
		case o.User == se.User:
			mine = append(mine, k)
		}
	}
	if len(mine) >= max {
		slices.SortFunc(mine, func(a, b string) int { return s.sessions[a].LastSeen.Compare(s.sessions[b].LastSeen) })
		drop = append(drop, mine[:len(mine)-max+1]...)
	}
	se.saved = se.LastSeen
	err := s.update(func(tx *bolt.Tx) error {
		for _, k := range drop {
			if err := tx.Bucket(bucketSessions).Delete([]byte(k)); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketSessions, id, se)
	})
	if err != nil {
		return fmt.Errorf("store session of %s: %w", se.User, err)
	}
	for _, k := range drop {
		delete(s.sessions, k)
	}
	s.sessions[id] = se
	return nil
}

// session returns a copy of a session.
func (s *state) session(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[id]
	if !ok {
		return session{}, false
	}
	return *se, true
}

// touch records activity. The file is written only when LastSeen moved by
// at least every, so a busy UI does not fsync on each request; after a
// restart a session may look idle for up to that much longer.
func (s *state) touch(id string, now time.Time, every time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[id]
	if !ok {
		return nil
	}
	se.LastSeen = now
	if now.Sub(se.saved) < every {
		return nil
	}
	cp := *se
	if err := s.update(func(tx *bolt.Tx) error { return putJSON(tx, bucketSessions, id, &cp) }); err != nil {
		return fmt.Errorf("store session of %s: %w", se.User, err)
	}
	se.saved = now
	return nil
}

func (s *state) deleteSessions(match func(id string, se *session) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var drop []string
	for k, se := range s.sessions {
		if match(k, se) {
			drop = append(drop, k)
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		for _, k := range drop {
			if err := tx.Bucket(bucketSessions).Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete %d sessions: %w", len(drop), err)
	}
	for _, k := range drop {
		delete(s.sessions, k)
	}
	return len(drop), nil
}

func (s *state) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *state) addToken(t *apiToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.tokens {
		if o.Name == t.Name {
			return fmt.Errorf("create API token %s: %w", t.Name, ErrTokenExists)
		}
	}
	if err := s.update(func(tx *bolt.Tx) error { return putJSON(tx, bucketTokens, t.Name, t) }); err != nil {
		return fmt.Errorf("store API token %s: %w", t.Name, err)
	}
	s.tokens[t.Hash] = t
	return nil
}

func (s *state) token(hash string) (apiToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok {
		return apiToken{}, false
	}
	return *t, true
}

func (s *state) revokeToken(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, t := range s.tokens {
		if t.Name != name {
			continue
		}
		if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketTokens).Delete([]byte(name)) }); err != nil {
			return fmt.Errorf("revoke API token %s: %w", name, err)
		}
		delete(s.tokens, h)
		return nil
	}
	return fmt.Errorf("revoke API token %s: %w", name, ErrTokenNotFound)
}

func (s *state) tokenList() []TokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TokenInfo, 0, len(s.tokens))
	for _, t := range s.tokens {
		out = append(out, TokenInfo{Name: t.Name, Role: t.Role, Created: t.Created, CreatedBy: t.CreatedBy})
	}
	slices.SortFunc(out, func(a, b TokenInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// hasSession reports whether user holds a session taken from source.
func (s *state) hasSession(user, source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, se := range s.sessions {
		if se.User == user && se.Source == source {
			return true
		}
	}
	return false
}
