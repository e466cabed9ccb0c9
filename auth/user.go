package auth

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kuzet/kuzet/netaddr"
)

// User is an account that logs in with a password.
type User struct {
	Name         string
	Role         Role
	PasswordHash string           // argon2id PHC string
	Allow        netaddr.Prefixes // source ranges it may log in from; empty: anywhere
	Disabled     bool
}

// Store is where users come from: the node's configuration, or the
// replicated catalogue. It is read on every request, so a disabled or
// demoted user loses access at once.
type Store interface {
	User(name string) (User, bool)
	Users() []User
}

// NewUser builds a user from configuration strings, naming the field that
// is wrong. allow takes addresses or CIDR prefixes.
func NewUser(name, role, passwordHash string, allow []string, disabled bool) (User, error) {
	u := User{Name: name, PasswordHash: passwordHash, Disabled: disabled}
	if err := checkName(name); err != nil {
		return u, fmt.Errorf("user name: %w", err)
	}
	r, err := ParseRole(role)
	if err != nil {
		return u, fmt.Errorf("user %s: %w", name, err)
	}
	u.Role = r
	if err := CheckHash(passwordHash); err != nil {
		return u, fmt.Errorf("user %s: password_hash: %w", name, err)
	}
	u.Allow, err = netaddr.ParsePrefixes(allow)
	if err != nil {
		return u, fmt.Errorf("user %s: allow: %w", name, err)
	}
	return u, nil
}

// checkName keeps names printable and safe to put in logs and paths.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q: want 1..64 characters", s)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)
		if !ok {
			return fmt.Errorf("%q: only letters, digits and . _ - @ are allowed", s)
		}
	}
	return nil
}

func (u User) clone() User {
	u.Allow = slices.Clone(u.Allow)
	return u
}

// MemStore is a fixed set of users, as configured in the node's file.
type MemStore struct {
	mu    sync.RWMutex
	users map[string]User
}

// NewMemStore checks the users and refuses duplicates.
func NewMemStore(users ...User) (*MemStore, error) {
	s := &MemStore{users: map[string]User{}}
	if err := s.Replace(users); err != nil {
		return nil, err
	}
	return s, nil
}

// Replace swaps in a new set of users (a configuration reload); nothing
// changes when any of them is invalid.
func (s *MemStore) Replace(users []User) error {
	m := make(map[string]User, len(users))
	for i, u := range users {
		if err := checkName(u.Name); err != nil {
			return fmt.Errorf("users[%d].name: %w", i, err)
		}
		if _, dup := m[u.Name]; dup {
			return fmt.Errorf("users[%d]: user %s is listed twice", i, u.Name)
		}
		if !u.Role.Valid() {
			return fmt.Errorf("users[%d] (%s): role: not set", i, u.Name)
		}
		if err := CheckHash(u.PasswordHash); err != nil {
			return fmt.Errorf("users[%d] (%s): password_hash: %w", i, u.Name, err)
		}
		m[u.Name] = u.clone()
	}
	s.mu.Lock()
	s.users = m
	s.mu.Unlock()
	return nil
}

// User returns one user.
func (s *MemStore) User(name string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[name]
	return u.clone(), ok
}

// Users returns every user, by name.
func (s *MemStore) Users() []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.clone())
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out
}
