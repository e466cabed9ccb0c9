package testcam

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ONVIF is a simulated ONVIF camera: it answers WS-Discovery probes and
// the device and media services' requests for its information, profiles
// and stream URIs, with its own credentials (a WS-Security password
// digest, or HTTP digest when DigestHTTP is set). Its answers are written
// here as text, apart from the client's parsers, so the two check each
// other.
type ONVIF struct {
	o     ONVIFOptions
	http  *http.Server
	ln    net.Listener
	udp   *net.UDPConn
	group *net.UDPConn // the WS-Discovery group (Multicast)
	wg    sync.WaitGroup
	mu    sync.Mutex
	calls map[string]int // requests by action element
	ptz   ptzState
}

// ptzState is the simulated head: a position, a velocity since a time
// (continuous moves), and presets.
type ptzState struct {
	pan, tilt, zoom float64
	vp, vt, vz      float64
	since           time.Time
	presets         map[string][2]any // token -> {name, [3]float64}
	next            int
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

// settle applies the current velocity up to now (under d.mu).
func (d *ONVIF) settle(now time.Time) {
	p := &d.ptz
	if !p.since.IsZero() {
		dt := now.Sub(p.since).Seconds()
		p.pan, p.tilt, p.zoom = clamp(p.pan+p.vp*dt, -1, 1), clamp(p.tilt+p.vt*dt, -1, 1), clamp(p.zoom+p.vz*dt, 0, 1)
	}
	p.since = now
}

// Position is where the simulated head points now.
func (d *ONVIF) Position() (pan, tilt, zoom float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settle(time.Now())
	return d.ptz.pan, d.ptz.tilt, d.ptz.zoom
}

// ONVIFOptions describe the simulated camera.
type ONVIFOptions struct {
	HTTP      string // listen address of its services (default 127.0.0.1:0)
	Discovery string // UDP address its discovery answers on (default 127.0.0.1:0)
	UUID      string // its endpoint (default a fixed one)
	Name      string // its name scope
	User      string
	Password  string
	// DigestHTTP: the device asks for HTTP digest and ignores WS-Security.
	DigestHTTP bool
	// Multicast: also answer probes sent to the WS-Discovery group
	// (239.255.255.250:3702), as a camera on the site's network does.
	Multicast bool
	// PTZ: the camera pans, tilts and zooms (a PTZ service, positions in
	// ONVIF's generic spaces, presets).
	PTZ bool
	// Main and Sub are the RTSP URLs of its two profiles (1280x720 and
	// 640x360 H.264).
	Main, Sub string
}

// StartONVIF starts the simulated camera.
func StartONVIF(o ONVIFOptions) (*ONVIF, error) {
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:0"
	}
	if o.Discovery == "" {
		o.Discovery = "127.0.0.1:0"
	}
	if o.UUID == "" {
		o.UUID = "urn:uuid:6b1f3c2e-4a5d-4e6f-8a7b-0c1d2e3f4a5b"
	}
	if o.Name == "" {
		o.Name = "Kuzet test camera"
	}
	ln, err := net.Listen("tcp", o.HTTP)
	if err != nil {
		return nil, fmt.Errorf("onvif services: %w", err)
	}
	ua, err := net.ResolveUDPAddr("udp4", o.Discovery)
	if err != nil {
		ln.Close()
		return nil, err
	}
	udp, err := net.ListenUDP("udp4", ua)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("onvif discovery: %w", err)
	}
	d := &ONVIF{o: o, ln: ln, udp: udp, calls: map[string]int{}}
	if o.Multicast {
		g, _ := net.ResolveUDPAddr("udp4", "239.255.255.250:3702")
		if d.group, err = net.ListenMulticastUDP("udp4", nil, g); err != nil {
			ln.Close()
			udp.Close()
			return nil, fmt.Errorf("onvif discovery group: %w", err)
		}
		d.wg.Add(1)
		go func() { defer d.wg.Done(); d.answerProbes(d.group) }()
	}
	d.http = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 5 * time.Second}
	d.wg.Add(2)
	go func() { defer d.wg.Done(); _ = d.http.Serve(ln) }()
	go func() { defer d.wg.Done(); d.answerProbes(d.udp) }()
	return d, nil
}

// DeviceURL is its device service (what discovery announces).
func (d *ONVIF) DeviceURL() string { return "http://" + d.ln.Addr().String() + "/onvif/device_service" }

// DiscoveryAddr is where it answers probes.
func (d *ONVIF) DiscoveryAddr() string { return d.udp.LocalAddr().String() }

// Calls counts the requests it took for an action element (GetProfiles).
func (d *ONVIF) Calls(action string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[action]
}

// Close stops it.
func (d *ONVIF) Close() {
	_ = d.http.Close()
	_ = d.udp.Close()
	if d.group != nil {
		_ = d.group.Close()
	}
	d.wg.Wait()
}

// answerProbes answers each probe for network video transmitters (or
// for any type) that conn receives with one ProbeMatch, unicast to the
// prober.
func (d *ONVIF) answerProbes(conn *net.UDPConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var p struct {
			ID    string `xml:"Header>MessageID"`
			Types string `xml:"Body>Probe>Types"`
		}
		if xml.Unmarshal(buf[:n], &p) != nil || p.ID == "" {
			continue
		}
		if p.Types != "" && !strings.Contains(p.Types, "NetworkVideoTransmitter") {
			continue
		}
		_, _ = d.udp.WriteToUDP([]byte(fmt.Sprintf(probeMatchXML, xmlEsc(p.ID), d.o.UUID,
			strings.ReplaceAll(d.o.Name, " ", "%20"), d.DeviceURL())), from)
	}
}

func xmlEsc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const probeMatchXML = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
 <SOAP-ENV:Header>
  <wsa:MessageID>urn:uuid:0f0e0d0c-0b0a-4900-8807-060504030201</wsa:MessageID>
  <wsa:RelatesTo>%s</wsa:RelatesTo>
  <wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>
  <wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <d:ProbeMatches>
   <d:ProbeMatch>
    <wsa:EndpointReference><wsa:Address>%s</wsa:Address></wsa:EndpointReference>
    <d:Types>dn:NetworkVideoTransmitter</d:Types>
    <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/%s onvif://www.onvif.org/hardware/KZT-100 onvif://www.onvif.org/Profile/Streaming</d:Scopes>
    <d:XAddrs>%s</d:XAddrs>
    <d:MetadataVersion>1</d:MetadataVersion>
   </d:ProbeMatch>
  </d:ProbeMatches>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>`

// serve answers the device and media services.
func (d *ONVIF) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req struct {
		Token struct {
			User     string `xml:"Username"`
			Password string `xml:"Password"`
			Nonce    string `xml:"Nonce"`
			Created  string `xml:"Created"`
		} `xml:"Header>Security>UsernameToken"`
		Body struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &req) != nil {
		fault(w, "env:Sender", "ter:WellFormed", "not a SOAP envelope")
		return
	}
	action := firstElement(req.Body.Inner)
	d.mu.Lock()
	d.calls[action]++
	d.mu.Unlock()
	if d.o.User != "" {
		if d.o.DigestHTTP {
			if !d.httpDigestOK(r) {
				w.Header().Set("WWW-Authenticate", `Digest realm="kuzet-testcam", qop="auth", nonce="5f1d2c3b4a59", opaque="c0ffee"`)
				http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
				return
			}
		} else {
			nonce, _ := base64.StdEncoding.DecodeString(req.Token.Nonce)
			h := sha1.New()
			h.Write(nonce)
			h.Write([]byte(req.Token.Created))
			h.Write([]byte(d.o.Password))
			if req.Token.User != d.o.User || base64.StdEncoding.EncodeToString(h.Sum(nil)) != strings.TrimSpace(req.Token.Password) {
				fault(w, "env:Sender", "ter:NotAuthorized", "Sender not Authorized")
				return
			}
		}
	}
	media := "http://" + d.ln.Addr().String() + "/onvif/media_service"
	if r.URL.Path == "/onvif/ptz_service" {
		if !d.o.PTZ {
			fault(w, "env:Receiver", "ter:ActionNotSupported", "no PTZ service")
			return
		}
		d.servePTZ(w, action, req.Body.Inner)
		return
	}
	ptzCaps := ""
	if d.o.PTZ {
		ptzCaps = `<tt:PTZ><tt:XAddr>http://` + d.ln.Addr().String() + `/onvif/ptz_service</tt:XAddr></tt:PTZ>`
	}
	switch action {
	case "GetDeviceInformation":
		answer(w, `<tds:GetDeviceInformationResponse><tds:Manufacturer>Kuzet</tds:Manufacturer><tds:Model>KZT-100</tds:Model>`+
			`<tds:FirmwareVersion>1.4.2</tds:FirmwareVersion><tds:SerialNumber>KZT100-0042</tds:SerialNumber><tds:HardwareId>KZT-100</tds:HardwareId></tds:GetDeviceInformationResponse>`)
	case "GetCapabilities":
		answer(w, `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>`+d.DeviceURL()+`</tt:XAddr></tt:Device>`+
			`<tt:Media><tt:XAddr>`+media+`</tt:XAddr><tt:StreamingCapabilities><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>`+
			ptzCaps+`</tds:Capabilities></tds:GetCapabilitiesResponse>`)
	case "GetProfiles":
		ptz := ""
		if d.o.PTZ {
			ptz = `<tt:PTZConfiguration token="ptz0"><tt:Name>PTZ</tt:Name></tt:PTZConfiguration>`
		}
		answer(w, `<trt:GetProfilesResponse>`+
			profileXML("main", "MainStream", 1280, 720, 25, ptz)+profileXML("sub", "SubStream", 640, 360, 25, "")+`</trt:GetProfilesResponse>`)
	case "GetStreamUri":
		var q struct {
			Token string `xml:"GetStreamUri>ProfileToken"`
		}
		_ = xml.Unmarshal([]byte("<B>"+string(req.Body.Inner)+"</B>"), &q)
		uri := map[string]string{"main": d.o.Main, "sub": d.o.Sub}[strings.TrimSpace(q.Token)]
		if uri == "" {
			fault(w, "env:Sender", "ter:NoProfile", "the profile token does not exist")
			return
		}
		answer(w, `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>`+xmlEsc(uri)+`</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>`+
			`<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`)
	default:
		fault(w, "env:Receiver", "ter:ActionNotSupported", "action "+action+" is not supported")
	}
}

func profileXML(token, name string, w, h, fps int, ptz string) string {
	return fmt.Sprintf(`<trt:Profiles token="%s" fixed="true"><tt:Name>%s</tt:Name>`+
		`<tt:VideoEncoderConfiguration token="vec-%s"><tt:Name>%s</tt:Name><tt:Encoding>H264</tt:Encoding>`+
		`<tt:Resolution><tt:Width>%d</tt:Width><tt:Height>%d</tt:Height></tt:Resolution>`+
		`<tt:RateControl><tt:FrameRateLimit>%d</tt:FrameRateLimit><tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration>%s</trt:Profiles>`,
		token, name, token, name, w, h, fps, ptz)
}

// firstElement is the local name of the first element in a body.
func firstElement(inner []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(inner))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

const soapOpen = `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" ` +
	`xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" ` +
	`xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>`

func answer(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	_, _ = io.WriteString(w, soapOpen+body+`</env:Body></env:Envelope>`)
}

func fault(w http.ResponseWriter, code, sub, reason string) {
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, soapOpen+`<env:Fault><env:Code><env:Value>`+code+`</env:Value><env:Subcode><env:Value>`+sub+
		`</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">`+xmlEsc(reason)+`</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`)
}

// httpDigestOK checks an HTTP digest answer (MD5, qop auth) to its challenge.
func (d *ONVIF) httpDigestOK(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Digest ") {
		return false
	}
	p := map[string]string{}
	for _, part := range strings.Split(h[len("Digest "):], ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			p[k] = strings.Trim(v, `"`)
		}
	}
	md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1, ha2 := md(d.o.User+":kuzet-testcam:"+d.o.Password), md(r.Method+":"+p["uri"])
	want := md(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":" + p["qop"] + ":" + ha2)
	return p["username"] == d.o.User && p["nonce"] == "5f1d2c3b4a59" && p["response"] == want
}

// servePTZ answers the PTZ service.
func (d *ONVIF) servePTZ(w http.ResponseWriter, action string, inner []byte) {
	type vec struct {
		PT struct {
			X float64 `xml:"x,attr"`
			Y float64 `xml:"y,attr"`
		} `xml:"PanTilt"`
		Z struct {
			X float64 `xml:"x,attr"`
		} `xml:"Zoom"`
	}
	var q struct {
		Velocity    vec    `xml:"ContinuousMove>Velocity"`
		Position    vec    `xml:"AbsoluteMove>Position"`
		Translation vec    `xml:"RelativeMove>Translation"`
		Preset      string `xml:"GotoPreset>PresetToken"`
		Name        string `xml:"SetPreset>PresetName"`
	}
	if err := xml.Unmarshal([]byte("<B>"+string(inner)+"</B>"), &q); err != nil {
		fault(w, "env:Sender", "ter:InvalidArgVal", err.Error())
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	d.settle(now)
	p := &d.ptz
	if p.presets == nil {
		p.presets = map[string][2]any{}
	}
	out := func(x float64, lo float64) bool { return x < lo || x > 1 }
	switch action {
	case "ContinuousMove":
		v := q.Velocity
		if out(v.PT.X, -1) || out(v.PT.Y, -1) || out(v.Z.X, -1) {
			fault(w, "env:Sender", "ter:InvalidArgVal", "velocity out of range")
			return
		}
		p.vp, p.vt, p.vz = v.PT.X, v.PT.Y, v.Z.X
		answer(w, `<tptz:ContinuousMoveResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"/>`)
	case "Stop":
		p.vp, p.vt, p.vz = 0, 0, 0
		answer(w, `<tptz:StopResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"/>`)
	case "AbsoluteMove":
		v := q.Position
		if out(v.PT.X, -1) || out(v.PT.Y, -1) || out(v.Z.X, 0) {
			fault(w, "env:Sender", "ter:InvalidPosition", "position out of range")
			return
		}
		p.vp, p.vt, p.vz = 0, 0, 0
		p.pan, p.tilt, p.zoom = v.PT.X, v.PT.Y, v.Z.X
		answer(w, `<tptz:AbsoluteMoveResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"/>`)
	case "RelativeMove":
		v := q.Translation
		p.vp, p.vt, p.vz = 0, 0, 0
		p.pan, p.tilt, p.zoom = clamp(p.pan+v.PT.X, -1, 1), clamp(p.tilt+v.PT.Y, -1, 1), clamp(p.zoom+v.Z.X, 0, 1)
		answer(w, `<tptz:RelativeMoveResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"/>`)
	case "GetStatus":
		answer(w, fmt.Sprintf(`<tptz:GetStatusResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"><tptz:PTZStatus><tt:Position>`+
			`<tt:PanTilt x="%.4f" y="%.4f"/><tt:Zoom x="%.4f"/></tt:Position></tptz:PTZStatus></tptz:GetStatusResponse>`, p.pan, p.tilt, p.zoom))
	case "GetPresets":
		var b strings.Builder
		b.WriteString(`<tptz:GetPresetsResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl">`)
		for i := 1; i <= p.next; i++ {
			tok := fmt.Sprintf("preset-%d", i)
			if pr, ok := p.presets[tok]; ok {
				fmt.Fprintf(&b, `<tptz:Preset token="%s"><tt:Name>%s</tt:Name></tptz:Preset>`, tok, xmlEsc(pr[0].(string)))
			}
		}
		b.WriteString(`</tptz:GetPresetsResponse>`)
		answer(w, b.String())
	case "GotoPreset":
		pr, ok := p.presets[strings.TrimSpace(q.Preset)]
		if !ok {
			fault(w, "env:Sender", "ter:NoToken", "no preset "+q.Preset)
			return
		}
		pos := pr[1].([3]float64)
		p.vp, p.vt, p.vz = 0, 0, 0
		p.pan, p.tilt, p.zoom = pos[0], pos[1], pos[2]
		answer(w, `<tptz:GotoPresetResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"/>`)
	case "SetPreset":
		p.next++
		tok := fmt.Sprintf("preset-%d", p.next)
		p.presets[tok] = [2]any{strings.TrimSpace(q.Name), [3]float64{p.pan, p.tilt, p.zoom}}
		answer(w, `<tptz:SetPresetResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"><tptz:PresetToken>`+tok+`</tptz:PresetToken></tptz:SetPresetResponse>`)
	default:
		fault(w, "env:Receiver", "ter:ActionNotSupported", "action "+action+" is not supported")
	}
}
