package federation

import (
	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// Requests for a descendant's video travel down the links its events came
// up: the parent remembers, per origin, the child that forwarded them.

// routeScan is how many of the newest log entries seed the routes at start;
// after that, every batch a child sends keeps them current.
const routeScan = 5000

func (s *Server) learnRoutes() {
	_, _ = s.o.Log.Search(routeScan, func(e event.Event) bool {
		if len(e.Path) >= 2 && e.Origin != s.o.Identity.NodeID {
			if _, ok := s.routes[e.Origin]; !ok {
				s.routes[e.Origin] = e.Path[len(e.Path)-2]
			}
		}
		return true
	})
}

func (s *Server) learn(batch []event.Event, child string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range batch {
		s.routes[e.Origin] = child
	}
}

// route returns the link leading to origin.
func (s *Server) route(origin string) (*quic.Conn, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	child, ok := s.routes[origin]
	if !ok {
		return nil, "", false
	}
	conn, ok := s.conns[child]
	return conn, child, ok
}

// Leads reports whether a linked child leads to origin.
func (s *Server) Leads(origin string) bool {
	_, _, ok := s.route(origin)
	return ok
}

// Descendants lists the nodes reachable through linked children.
func (s *Server) Descendants() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for o, c := range s.routes {
		if _, ok := s.conns[c]; ok {
			out[o] = c
		}
	}
	return out
}

// DropRevoked closes the links of children whose certificates no longer
// pass (revoked since they linked): revocation takes effect at once, not
// at the next handshake.
func (s *Server) DropRevoked() int {
	s.mu.Lock()
	conns := make(map[string]*quic.Conn, len(s.conns))
	for id, c := range s.conns {
		conns[id] = c
	}
	s.mu.Unlock()
	n := 0
	for id, c := range conns {
		if _, err := s.o.Identity.PeerNodeID(c.ConnectionState().TLS); err != nil {
			s.o.Logger.Warn("link closed: certificate no longer accepted", "child", id, "err", err)
			_ = c.CloseWithError(4, err.Error())
			n++
		}
	}
	return n
}
