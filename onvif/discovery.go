package onvif

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"
)

// MulticastAddr is WS-Discovery's group and port.
const MulticastAddr = "239.255.255.250:3702"

// MaxDevices bounds one discovery's answers: a storm of answers is cut
// there, not kept in memory.
const MaxDevices = 1024

// Device is a device that answered a probe.
type Device struct {
	Endpoint string   `json:"endpoint"` // its stable identity (urn:uuid:…)
	XAddrs   []string `json:"xaddrs"`   // its device service URLs
	Types    []string `json:"types,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	Name     string   `json:"name,omitempty"`     // from the onvif://www.onvif.org/name/ scope
	Hardware string   `json:"hardware,omitempty"` // from the hardware/ scope
	From     string   `json:"from"`               // the address it answered from
}

// DiscoverOptions tune a discovery.
type DiscoverOptions struct {
	Timeout   time.Duration // how long answers are awaited (default 3s)
	Multicast bool          // probe the WS-Discovery group
	Targets   []string      // host:port addresses probed directly as well
	Interface *net.Interface
}

// Discovery is what a probe found: devices, and answers set aside.
type Discovery struct {
	Devices []Device `json:"devices"`
	Ignored int      `json:"ignored"` // malformed, unrelated or over MaxDevices
}

func probeMessage(id string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:d="` + nsDiscovery + `" xmlns:dn="` + nsNetwork + `">` +
		`<s:Header><a:MessageID>` + id + `</a:MessageID>` +
		`<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
		`<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>` +
		`<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`)
}

func uuidURN() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Discover probes for network video transmitters and gathers the
// answers to this probe until the timeout.
func Discover(ctx context.Context, o DiscoverOptions) (Discovery, error) {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if !o.Multicast && len(o.Targets) == 0 {
		return Discovery{}, fmt.Errorf("discover: nothing to probe (no multicast, no targets)")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return Discovery{}, fmt.Errorf("discover: %w", err)
	}
	defer conn.Close()
	id := uuidURN()
	msg := probeMessage(id)
	var dests []*net.UDPAddr
	if o.Multicast {
		g, _ := net.ResolveUDPAddr("udp4", MulticastAddr)
		dests = append(dests, g)
	}
	for _, t := range o.Targets {
		a, err := net.ResolveUDPAddr("udp4", t)
		if err != nil {
			return Discovery{}, fmt.Errorf("discover: target %q: %w", t, err)
		}
		dests = append(dests, a)
	}
	for _, d := range dests {
		if _, err := conn.WriteToUDP(msg, d); err != nil {
			return Discovery{}, fmt.Errorf("discover: probe %s: %w", d, err)
		}
	}
	deadline := time.Now().Add(o.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetReadDeadline(deadline)
	found := map[string]*Device{}
	var out Discovery
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			break // the deadline
		}
		devs, err := ParseProbeMatches(buf[:n], id)
		if err != nil || len(found) >= MaxDevices {
			out.Ignored++
			continue
		}
		for _, d := range devs {
			d.From = from.IP.String()
			if prev, ok := found[d.Endpoint]; ok {
				prev.XAddrs = union(prev.XAddrs, d.XAddrs)
				continue
			}
			if len(found) < MaxDevices {
				dd := d
				found[d.Endpoint] = &dd
			}
		}
	}
	for _, d := range found {
		out.Devices = append(out.Devices, *d)
	}
	sort.Slice(out.Devices, func(i, j int) bool { return out.Devices[i].Endpoint < out.Devices[j].Endpoint })
	if out.Devices == nil {
		out.Devices = []Device{}
	}
	return out, nil
}

func union(a, b []string) []string {
	for _, s := range b {
		dup := false
		for _, t := range a {
			dup = dup || s == t
		}
		if !dup {
			a = append(a, s)
		}
	}
	return a
}

type probeMatches struct {
	Matches []struct {
		Address string `xml:"EndpointReference>Address"`
		Types   string `xml:"Types"`
		Scopes  string `xml:"Scopes"`
		XAddrs  string `xml:"XAddrs"`
	} `xml:"ProbeMatches>ProbeMatch"`
}

// ParseProbeMatches reads a discovery answer to the probe relatesTo
// ("": any): the devices it names, each with at least one http(s)
// device service URL.
func ParseProbeMatches(b []byte, relatesTo string) ([]Device, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("probe match: over %d bytes", MaxResponse)
	}
	var pm probeMatches
	env, err := readEnvelope(strings.NewReader(string(b)), &pm)
	if err != nil {
		return nil, fmt.Errorf("probe match: %w", err)
	}
	if relatesTo != "" && strings.TrimSpace(env.Header.RelatesTo) != relatesTo {
		return nil, fmt.Errorf("probe match: answers %q, not this probe", env.Header.RelatesTo)
	}
	var out []Device
	for _, m := range pm.Matches {
		d := Device{Endpoint: strings.TrimSpace(m.Address), Types: strings.Fields(m.Types), Scopes: strings.Fields(m.Scopes)}
		for _, x := range strings.Fields(m.XAddrs) {
			if u, err := url.Parse(x); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
				d.XAddrs = append(d.XAddrs, x)
			}
		}
		if d.Endpoint == "" || len(d.XAddrs) == 0 {
			continue
		}
		for _, s := range d.Scopes {
			if v, ok := strings.CutPrefix(s, "onvif://www.onvif.org/name/"); ok {
				d.Name, _ = url.PathUnescape(v)
			}
			if v, ok := strings.CutPrefix(s, "onvif://www.onvif.org/hardware/"); ok {
				d.Hardware, _ = url.PathUnescape(v)
			}
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("probe match: no device with a service address: %w", errEmpty)
	}
	return out, nil
}
