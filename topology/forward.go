package topology

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The forwarding protocol carries what only the leader may do (writes,
// membership changes, the index of a linearizable read) from a follower to
// it: one request and one response per connection, each a frame of a 4-byte
// big-endian length and a JSON body, over TLS with ALPN ForwardALPN on the
// Raft port. A fresh connection per request means a failed dial is known
// not to have delivered anything.

const (
	opApply     = "apply"
	opJoin      = "join"
	opRemove    = "remove"
	opReadIndex = "read_index"
)

// codeNotLeader: the peer is not the leader and did nothing; ask the leader.
const codeNotLeader Code = "not_leader"

// maxFrame bounds one frame: a command and its envelope.
const maxFrame = maxCommandBytes + 64<<10

type fwdRequest struct {
	Op      string          `json:"op"`
	Command json.RawMessage `json:"command,omitempty"`
	ID      string          `json:"id,omitempty"`
	Address string          `json:"address,omitempty"`
}

type fwdResponse struct {
	Revision uint64 `json:"revision,omitempty"`
	Code     Code   `json:"code,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (r fwdResponse) err() error {
	if r.Code == "" {
		return nil
	}
	return &Error{Code: r.Code, Msg: r.Error}
}

func responseOf(rev uint64, err error) fwdResponse {
	if err == nil {
		return fwdResponse{Revision: rev}
	}
	return fwdResponse{Code: CodeOf(err), Error: err.Error()}
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(b), maxFrame)
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	_, err = w.Write(append(buf, b...))
	return err
}

// readFrame reads one frame into v, refusing oversized frames and
// unknown fields.
func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("short frame: %w", err)
	}
	if err := strictJSON(b, v); err != nil {
		return fmt.Errorf("bad frame: %w", err)
	}
	return nil
}

// parseRequest reads and checks one forwarded request.
func parseRequest(r io.Reader) (fwdRequest, error) {
	var req fwdRequest
	if err := readFrame(r, &req); err != nil {
		return req, err
	}
	switch req.Op {
	case opApply:
		if len(req.Command) == 0 {
			return req, invalidf("apply without a command")
		}
	case opJoin:
		if err := checkPeer(Peer{ID: req.ID, Address: req.Address}); err != nil {
			return req, err
		}
	case opRemove:
		if err := checkID("member id", req.ID); err != nil {
			return req, err
		}
	case opReadIndex:
	default:
		return req, invalidf("unknown forwarded operation %q", req.Op)
	}
	return req, nil
}

// serveForward answers one forwarded request from a verified member.
func (r *Replica) serveForward(ctx context.Context, c net.Conn, peer string) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(r.o.ApplyTimeout))
	req, err := parseRequest(c)
	var resp fwdResponse
	if merr := r.isMember(peer); merr != nil && !errors.Is(err, io.EOF) {
		r.log.Warn("catalogue forward refused", "peer", peer, "reason", merr.Error())
		resp = responseOf(0, merr)
	} else if err != nil {
		if errors.Is(err, io.EOF) {
			return
		}
		r.log.Warn("catalogue forward: bad request", "peer", peer, "err", err)
		resp = fwdResponse{Code: CodeInvalid, Error: err.Error()}
	} else {
		ctx, cancel := context.WithTimeout(ctx, r.o.ApplyTimeout)
		resp = r.leaderDo(ctx, req)
		cancel()
	}
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := writeFrame(c, resp); err != nil {
		r.log.Warn("catalogue forward: reply", "peer", peer, "err", err)
	}
}

// errNotDelivered marks a forwarding failure that happened before the
// request could reach the leader, so it is safe to retry.
var errNotDelivered = errors.New("request not delivered")

// forward sends req to the leader at addr.
func (r *Replica) forward(ctx context.Context, addr string, req fwdRequest) (fwdResponse, error) {
	cfg := r.ident.MutualTLS(false, ForwardALPN, r.log)
	c, err := r.layer.dial(ctx, addr, 5*time.Second, cfg)
	if err != nil {
		return fwdResponse{}, fmt.Errorf("%w: %w", errNotDelivered, err)
	}
	defer c.Close()
	if tc, ok := c.(*trackedConn); ok {
		if t, ok := tc.Conn.(*tls.Conn); ok && t.ConnectionState().NegotiatedProtocol != ForwardALPN {
			return fwdResponse{}, fmt.Errorf("%w: leader %s does not speak %s", errNotDelivered, addr, ForwardALPN)
		}
	}
	deadline := time.Now().Add(r.o.ApplyTimeout + 5*time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := writeFrame(c, req); err != nil {
		return fwdResponse{}, fmt.Errorf("forward to leader %s: %w", addr, err)
	}
	var resp fwdResponse
	if err := readFrame(c, &resp); err != nil {
		return fwdResponse{}, fmt.Errorf("forward to leader %s: %w", addr, err)
	}
	return resp, nil
}
