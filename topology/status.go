package topology

import (
	"sort"
	"time"

	"github.com/hashicorp/raft"
)

// Member is one replica in the Raft configuration.
type Member struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter | nonvoter | staging
	Leader   bool   `json:"leader,omitempty"`
}

// Status is a replica's view of its Raft group.
type Status struct {
	ID            string   `json:"id"`
	Address       string   `json:"address"`
	State         string   `json:"state"` // leader | follower | candidate | shutdown
	Leader        string   `json:"leader,omitempty"`
	LeaderAddress string   `json:"leader_address,omitempty"`
	Term          uint64   `json:"term"`
	LastIndex     uint64   `json:"last_index"`
	CommitIndex   uint64   `json:"commit_index"`
	AppliedIndex  uint64   `json:"applied_index"`
	Revision      uint64   `json:"revision"` // catalogue revision applied here
	Members       []Member `json:"members"`
	// LastContact is how long ago a follower last heard from the leader,
	// in milliseconds (-1: never).
	LastContactMs int64 `json:"last_contact_ms"`
}

// Status reports the replica's Raft state and the group's members.
func (r *Replica) Status() Status {
	addr, leader := r.raft.LeaderWithID()
	st := Status{
		ID: r.id, Address: r.Address(), State: stateName(r.raft.State()),
		Leader: string(leader), LeaderAddress: string(addr),
		Term: r.raft.CurrentTerm(), LastIndex: r.raft.LastIndex(), CommitIndex: r.raft.CommitIndex(),
		AppliedIndex: r.raft.AppliedIndex(), Revision: r.fsm.catalogue().revision,
	}
	if st.State == "follower" || st.State == "candidate" {
		if lc := r.raft.LastContact(); lc.IsZero() {
			st.LastContactMs = -1
		} else {
			st.LastContactMs = max(time.Since(lc).Milliseconds(), 0)
		}
	}
	if f := r.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Members = append(st.Members, Member{
				ID: string(s.ID), Address: string(s.Address), Suffrage: suffrageName(s.Suffrage),
				Leader: s.ID == leader,
			})
		}
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	}
	return "shutdown"
}

func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	}
	return "staging"
}
