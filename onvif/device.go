package onvif

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Info is who the device is.
type Info struct {
	Manufacturer string `json:"manufacturer" xml:"Manufacturer"`
	Model        string `json:"model" xml:"Model"`
	Firmware     string `json:"firmware" xml:"FirmwareVersion"`
	Serial       string `json:"serial" xml:"SerialNumber"`
	Hardware     string `json:"hardware" xml:"HardwareId"`
}

// DeviceInformation asks the device who it is.
func (c *Client) DeviceInformation(ctx context.Context) (Info, error) {
	var r struct {
		Info *Info `xml:"GetDeviceInformationResponse"`
	}
	if err := c.call(ctx, c.Device, nsDevice+"/GetDeviceInformation", `<tds:GetDeviceInformation/>`, &r); err != nil {
		return Info{}, err
	}
	if r.Info == nil {
		return Info{}, fmt.Errorf("GetDeviceInformation at %s: no GetDeviceInformationResponse: %w", c.Device, errEmpty)
	}
	return *r.Info, nil
}

// Services are the device's service URLs that the node uses.
type Services struct {
	Media string `json:"media"`
	PTZ   string `json:"ptz,omitempty"`
}

// Capabilities asks where the device's media (and PTZ) services are.
func (c *Client) Capabilities(ctx context.Context) (Services, error) {
	var r struct {
		Media string `xml:"GetCapabilitiesResponse>Capabilities>Media>XAddr"`
		PTZ   string `xml:"GetCapabilitiesResponse>Capabilities>PTZ>XAddr"`
	}
	err := c.call(ctx, c.Device, nsDevice+"/GetCapabilities", `<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>`, &r)
	if err != nil {
		return Services{}, err
	}
	s := Services{Media: strings.TrimSpace(r.Media), PTZ: strings.TrimSpace(r.PTZ)}
	if !httpURL(s.Media) {
		return Services{}, fmt.Errorf("GetCapabilities at %s: media service %q is not an http(s) URL: %w", c.Device, s.Media, errEmpty)
	}
	if s.PTZ != "" && !httpURL(s.PTZ) {
		s.PTZ = ""
	}
	return s, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Profile is one media profile: a stream the device offers.
type Profile struct {
	Token    string  `json:"token"`
	Name     string  `json:"name"`
	Encoding string  `json:"encoding"` // H264, H265, JPEG, MPEG4
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	FPS      float64 `json:"fps,omitempty"`
	PTZ      bool    `json:"ptz,omitempty"` // the profile has a PTZ configuration
	URI      string  `json:"uri,omitempty"` // its RTSP stream (StreamURI)
}

type profilesResponse struct {
	Profiles []struct {
		Token string `xml:"token,attr"`
		Name  string `xml:"Name"`
		Video *struct {
			Encoding   string `xml:"Encoding"`
			Resolution struct {
				Width  int `xml:"Width"`
				Height int `xml:"Height"`
			} `xml:"Resolution"`
			FPS float64 `xml:"RateControl>FrameRateLimit"`
		} `xml:"VideoEncoderConfiguration"`
		PTZ *struct{} `xml:"PTZConfiguration"`
	} `xml:"GetProfilesResponse>Profiles"`
}

// Profiles lists the device's media profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	if err := c.mediaService(ctx); err != nil {
		return nil, err
	}
	var r profilesResponse
	if err := c.call(ctx, c.media, nsMedia+"/GetProfiles", `<trt:GetProfiles/>`, &r); err != nil {
		return nil, err
	}
	var out []Profile
	for _, p := range r.Profiles {
		if p.Token == "" || len(p.Token) > 64 {
			continue
		}
		pr := Profile{Token: p.Token, Name: p.Name, PTZ: p.PTZ != nil}
		if v := p.Video; v != nil {
			pr.Encoding, pr.Width, pr.Height, pr.FPS = strings.ToUpper(strings.TrimSpace(v.Encoding)), v.Resolution.Width, v.Resolution.Height, v.FPS
		}
		out = append(out, pr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("GetProfiles at %s: no profile: %w", c.media, errEmpty)
	}
	return out, nil
}

func (c *Client) mediaService(ctx context.Context) error {
	if c.media != "" {
		return nil
	}
	s, err := c.Capabilities(ctx)
	if err != nil {
		return err
	}
	c.media = s.Media
	return nil
}

// StreamURI asks for a profile's RTSP (unicast) stream.
func (c *Client) StreamURI(ctx context.Context, profile string) (string, error) {
	if err := c.mediaService(ctx); err != nil {
		return "", err
	}
	body := `<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>` +
		`<trt:ProfileToken>` + xmlText(profile) + `</trt:ProfileToken></trt:GetStreamUri>`
	var r struct {
		URI string `xml:"GetStreamUriResponse>MediaUri>Uri"`
	}
	if err := c.call(ctx, c.media, nsMedia+"/GetStreamUri", body, &r); err != nil {
		return "", err
	}
	uri := strings.TrimSpace(r.URI)
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return "", fmt.Errorf("GetStreamUri at %s: %q is not an rtsp:// URL", c.media, uri)
	}
	return uri, nil
}

// Description is what a node needs to add a device's camera.
type Description struct {
	Device   string    `json:"device"`
	Info     Info      `json:"info"`
	Services Services  `json:"services"`
	Profiles []Profile `json:"profiles"`       // with their URIs, largest first
	Main     *Profile  `json:"main,omitempty"` // the largest H.264/H.265 profile
	Sub      *Profile  `json:"sub,omitempty"`  // the smallest other one
}

// Describe asks the device who it is, its profiles and their streams.
func (c *Client) Describe(ctx context.Context) (Description, error) {
	d := Description{Device: c.Device}
	var err error
	if d.Info, err = c.DeviceInformation(ctx); err != nil {
		return d, err
	}
	if d.Services, err = c.Capabilities(ctx); err != nil {
		return d, err
	}
	c.media = d.Services.Media
	if d.Profiles, err = c.Profiles(ctx); err != nil {
		return d, err
	}
	for i := range d.Profiles {
		if d.Profiles[i].URI, err = c.StreamURI(ctx, d.Profiles[i].Token); err != nil {
			return d, err
		}
	}
	sort.SliceStable(d.Profiles, func(i, j int) bool {
		return d.Profiles[i].Width*d.Profiles[i].Height > d.Profiles[j].Width*d.Profiles[j].Height
	})
	for i := range d.Profiles {
		p := &d.Profiles[i]
		if d.Main == nil && (p.Encoding == "H264" || p.Encoding == "H265") {
			d.Main = p
		}
	}
	if d.Main == nil {
		d.Main = &d.Profiles[0]
	}
	for i := len(d.Profiles) - 1; i >= 0; i-- {
		if p := &d.Profiles[i]; p != d.Main && p.Width*p.Height < d.Main.Width*d.Main.Height {
			d.Sub = p
			break
		}
	}
	return d, nil
}
