// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): READY=1 once the node serves, WATCHDOG=1 while it is
// alive, STOPPING=1 when it stops. Outside systemd (no NOTIFY_SOCKET) every
// call does nothing.
package sdnotify

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state ("READY=1", "STATUS=...", several joined by
// newlines) to the service manager; without one it does nothing.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // an abstract socket
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// Watchdog is how often the manager expects WATCHDOG=1 (WatchdogSec), or
// 0 when it does not watch this process.
func Watchdog() time.Duration {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}
