package topology

import (
	"net/url"
	"slices"
)

// The catalogue's secrets are write-only: the API and exports show a
// camera's URL without its password, and say whether one is stored
// (password_set); users' password hashes and the hashes of cameras'
// plate-event tokens are never shown (token_set). Only the slice a site
// receives over its mutually authenticated link carries the password and
// the token's hash, since the site needs them to pull the camera and to
// check its events.

// Redacted is the camera as the API shows it: the URL without its
// password (the user name stays, so that it reads as it is), and
// PasswordSet saying whether one is stored.
func (c Camera) Redacted() Camera {
	c = c.clone()
	u, err := url.Parse(c.URL)
	if err != nil {
		// stored URLs were checked; this is for a record from elsewhere
		c.URL = "(unparseable URL)"
		return c
	}
	set := false
	if u.User != nil {
		_, set = u.User.Password()
		u.User = url.User(u.User.Username())
		c.URL = u.String()
	}
	c.PasswordSet = &set
	if in := c.Analytics.ANPR.Ingest; in != nil {
		stored := in.TokenSHA256 != ""
		in.Token, in.TokenSHA256, in.TokenSet = "", "", &stored
	}
	return c
}

// Redacted is the zone as the API shows it: its readers' tokens are
// replaced by token_set.
func (z Zone) Redacted() Zone {
	z = z.clone()
	for i := range z.Readers {
		r := &z.Readers[i]
		stored := r.TokenSHA256 != ""
		r.Token, r.TokenSHA256, r.TokenSet = "", "", &stored
	}
	return z
}

// redactZones redacts a list in place.
func redactZones(zs []Zone) {
	for i := range zs {
		zs[i] = zs[i].Redacted()
	}
}

// redactCameras redacts a list in place.
func redactCameras(cams []Camera) {
	for i := range cams {
		cams[i] = cams[i].Redacted()
	}
}

// Redacted is the slice as the API shows it (cameras redacted); the one
// sent down the link is the slice itself.
func (s *Slice) Redacted() *Slice {
	c := *s
	c.Cameras = slices.Clone(s.Cameras)
	redactCameras(c.Cameras)
	c.Zones = slices.Clone(s.Zones)
	redactZones(c.Zones)
	return &c
}

// Redacted is the catalogue as the API and exports show it: no camera
// passwords, no password hashes.
func (ct Contents) Redacted() Contents {
	ct.Cameras = slices.Clone(ct.Cameras)
	redactCameras(ct.Cameras)
	ct.Zones = slices.Clone(ct.Zones)
	redactZones(ct.Zones)
	ct.Users = slices.Clone(ct.Users)
	for i := range ct.Users {
		ct.Users[i].PasswordHash = ""
	}
	return ct
}

// urlPassword returns the password of a camera URL and whether it names a
// user at all.
func urlPassword(raw string) (user, password string, hasUser, hasPassword bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", "", false, false
	}
	password, hasPassword = u.User.Password()
	return u.User.Username(), password, true, hasPassword
}

// storedURL is the URL a camera put stores: as given when it holds a
// password; with the stored password when it names a user without one
// (a record read through the API and put back keeps its password), unless
// passwordSet is false; and without credentials when it names no user.
func storedURL(given string, passwordSet *bool, old string, exists bool) string {
	_, _, hasUser, hasPassword := urlPassword(given)
	if hasPassword || !hasUser || (passwordSet != nil && !*passwordSet) {
		return given
	}
	if !exists {
		return given
	}
	_, oldPassword, _, oldHas := urlPassword(old)
	if !oldHas {
		return given
	}
	u, err := url.Parse(given)
	if err != nil {
		return given
	}
	u.User = url.UserPassword(u.User.Username(), oldPassword)
	return u.String()
}
