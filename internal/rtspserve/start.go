package rtspserve

import (
	"fmt"
	"net"

	"github.com/bluenviron/gortsplib/v4"
)

// Start binds listen (TCP) and, with udp, an RTP/RTCP pair at udpPort (0:
// any free pair) on the same host, hands them to srv and starts it. It
// returns the bound TCP address.
func Start(srv *gortsplib.Server, listen string, udp bool, udpPort int) (string, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listen, err)
	}
	network := "tcp"
	if host == "0.0.0.0" {
		network = "tcp4" // as gortsplib does: 0.0.0.0 means IPv4 only
	}
	ln, err := net.Listen(network, listen)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", listen, err)
	}
	addr := ln.Addr().String()
	srv.RTSPAddress = addr
	srv.Listen = func(string, string) (net.Listener, error) { return ln, nil }
	var pair [2]net.PacketConn
	if udp {
		if pair, err = ListenUDP(host, udpPort); err != nil {
			ln.Close()
			return "", fmt.Errorf("UDP transport on %s: %w", host, err)
		}
		addrs := [2]string{pair[0].LocalAddr().String(), pair[1].LocalAddr().String()}
		srv.UDPRTPAddress, srv.UDPRTCPAddress = addrs[0], addrs[1]
		srv.ListenPacket = func(_, address string) (net.PacketConn, error) {
			for i, a := range addrs {
				if a == address {
					return pair[i], nil
				}
			}
			return nil, fmt.Errorf("unexpected UDP listen on %s", address)
		}
	}
	if err := srv.Start(); err != nil {
		// gortsplib closes what it took over only on some paths; closing
		// twice is harmless
		ln.Close()
		for _, c := range pair {
			if c != nil {
				c.Close()
			}
		}
		return "", fmt.Errorf("start RTSP server on %s: %w", addr, err)
	}
	return addr, nil
}
