// Package rtspserve starts gortsplib servers on sockets it binds itself:
// the TCP listener and the pair of UDP ports RTP and RTCP need, so that
// port 0 works and the caller learns the real address.
package rtspserve

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// ListenUDP binds an even RTP port and the next one for RTCP on host, as
// gortsplib requires; port 0 tries free ports until a pair fits.
func ListenUDP(host string, port int) ([2]net.PacketConn, error) {
	var pair [2]net.PacketConn
	bind := func(p int) (net.PacketConn, error) {
		return net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
	}
	if port != 0 {
		if port%2 != 0 || port < 0 || port > 65534 {
			return pair, fmt.Errorf("UDP port %d must be even and below 65535", port)
		}
		var err error
		if pair[0], err = bind(port); err != nil {
			return pair, err
		}
		if pair[1], err = bind(port + 1); err != nil {
			pair[0].Close()
			return pair, err
		}
		return pair, nil
	}
	for range 100 {
		rtpConn, err := bind(0)
		if err != nil {
			return pair, err
		}
		p := rtpConn.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p == 65534 {
			rtpConn.Close()
			continue
		}
		rtcpConn, err := bind(p + 1)
		if err != nil {
			rtpConn.Close()
			continue
		}
		return [2]net.PacketConn{rtpConn, rtcpConn}, nil
	}
	return pair, errors.New("no free pair of consecutive UDP ports found")
}
