package auth

import "fmt"

// Role is a user's authority. Roles are ordered: each one may do what the
// roles below it may.
type Role int

// Roles, lowest first. The zero value is no role at all, so a Role that was
// never set authorises nothing.
const (
	RoleViewer Role = iota + 1
	RoleOperator
	RoleEngineer
	RoleAdmin
)

var roleNames = [...]string{RoleViewer: "viewer", RoleOperator: "operator", RoleEngineer: "engineer", RoleAdmin: "admin"}

// ParseRole parses admin, engineer, operator or viewer.
func ParseRole(s string) (Role, error) {
	for r := RoleViewer; r <= RoleAdmin; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want admin, engineer, operator or viewer", s)
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r >= RoleViewer && r <= RoleAdmin }

// AtLeast reports whether r carries the authority of min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r >= min }

func (r Role) String() string {
	if r.Valid() {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("marshal %v: not a role", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses a role's name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
