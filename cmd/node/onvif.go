package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kuzet/kuzet/onvif"
	"github.com/kuzet/kuzet/topology"
)

const onvifUsage = `usage:
  kuzet onvif discover [--to HOST:PORT]... [--no-multicast] [--timeout 3s] [--user U --password P] [--json]
        probe the site's network (WS-Discovery) for cameras; with credentials, describe each
  kuzet onvif describe DEVICE_URL --user U --password P [--json]
        who a device is, its media profiles and their RTSP streams (main: the largest H.264/H.265)
  kuzet onvif add DEVICE_URL --site SITE --id ID --user U --password P [--zone Z] [--name N] [--api URL] [--token T]
        add the device's camera to the catalogue: its main stream, and its sub-stream for small tiles

The password may come from $KUZET_ONVIF_PASSWORD instead of --password.
`

// cmdONVIF finds and adds ONVIF cameras (NVMS-6.13).
func cmdONVIF(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(len(args) > 0, stdout, stderr, onvifUsage)
	}
	cmd := args[0]
	if cmd != "discover" && cmd != "describe" && cmd != "add" {
		fmt.Fprintf(stderr, "kuzet onvif: unknown command %q\n%s", cmd, onvifUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("kuzet onvif "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets []string
	fs.Func("to", "probe this HOST:PORT directly as well (repeat)", func(s string) error { targets = append(targets, s); return nil })
	noMulticast := fs.Bool("no-multicast", false, "probe only the --to addresses")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for answers")
	user := fs.String("user", "", "the devices' user")
	password := fs.String("password", os.Getenv("KUZET_ONVIF_PASSWORD"), "the devices' password (default $KUZET_ONVIF_PASSWORD)")
	asJSON := fs.Bool("json", false, "print JSON")
	site := fs.String("site", "", "the site the camera belongs to (add)")
	id := fs.String("id", "", "the camera's ID at its site (add)")
	zone := fs.String("zone", "", "the zone it watches (add)")
	name := fs.String("name", "", "its name (add; default the device's model and serial)")
	api, token := apiFlags(fs, "the node's HTTP address, a catalogue replica (add)")
	rest, err := parseAnywhere(fs, args[1:])
	if err != nil {
		return parseFailed(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+time.Minute)
	defer cancel()
	if cmd == "discover" {
		found, err := onvif.Discover(ctx, onvif.DiscoverOptions{Timeout: *timeout, Multicast: !*noMulticast, Targets: targets})
		if err != nil {
			return err
		}
		var described []onvif.Description
		if *user != "" {
			for _, d := range found.Devices {
				desc, err := (&onvif.Client{Device: d.XAddrs[0], User: *user, Password: *password}).Describe(ctx)
				if err != nil {
					fmt.Fprintf(stderr, "%s: %v\n", d.XAddrs[0], err)
					continue
				}
				described = append(described, desc)
			}
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"devices": found.Devices, "ignored": found.Ignored, "described": described})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tNAME\tHARDWARE\tFROM")
		for _, d := range found.Devices {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.XAddrs[0], d.Name, d.Hardware, d.From)
		}
		_ = tw.Flush()
		for _, d := range described {
			printDescription(stdout, d)
		}
		if found.Ignored > 0 {
			fmt.Fprintf(stdout, "%d answers ignored (malformed, to another probe, or over %d devices)\n", found.Ignored, onvif.MaxDevices)
		}
		if len(found.Devices) == 0 {
			return errors.New("onvif discover: no device answered")
		}
		return nil
	}
	if len(rest) != 1 {
		return fmt.Errorf("onvif %s: give one DEVICE_URL (a discovered device service, http://HOST/onvif/device_service)", cmd)
	}
	c := &onvif.Client{Device: rest[0], User: *user, Password: *password}
	desc, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	if cmd == "describe" {
		if *asJSON {
			return json.NewEncoder(stdout).Encode(desc)
		}
		printDescription(stdout, desc)
		return nil
	}
	// add
	if *site == "" || *id == "" {
		return errors.New("onvif add: --site and --id are required")
	}
	cam, err := cameraOf(desc, *site, *id, *zone, *name, *user, *password)
	if err != nil {
		return err
	}
	tc, err := topology.NewClient(*api, nil)
	if err != nil {
		return fmt.Errorf("onvif add: %w", err)
	}
	tc.Token = *token
	if _, err := tc.PutCamera(ctx, cam); err != nil {
		return fmt.Errorf("onvif add: %w", err)
	}
	fmt.Fprintf(stdout, "camera %s/%s added: %s %s, main %dx%d %s", *site, *id, desc.Info.Manufacturer, desc.Info.Model,
		desc.Main.Width, desc.Main.Height, redactURL(desc.Main.URI))
	if cam.SubPath != "" {
		fmt.Fprintf(stdout, ", sub-stream %s", cam.SubPath)
	}
	fmt.Fprintln(stdout)
	return nil
}

// cameraOf is the catalogue camera of a described device: its main
// stream with the login, and the sub-stream's path when it is on the same
// host and port.
func cameraOf(d onvif.Description, site, id, zone, name, user, password string) (topology.Camera, error) {
	if d.Main == nil || d.Main.URI == "" {
		return topology.Camera{}, fmt.Errorf("onvif add: %s offers no stream", d.Device)
	}
	u, err := url.Parse(d.Main.URI)
	if err != nil {
		return topology.Camera{}, fmt.Errorf("onvif add: main stream %q: %w", d.Main.URI, err)
	}
	if user != "" && u.User == nil {
		u.User = url.UserPassword(user, password)
	}
	if name == "" {
		name = strings.TrimSpace(d.Info.Manufacturer + " " + d.Info.Model + " " + d.Info.Serial)
	}
	cam := topology.Camera{ID: id, Site: site, Name: name, URL: u.String(), Zone: zone}
	if d.Services.PTZ != "" {
		cam.ONVIF = d.Device // PTZ commands go there
	}
	if d.Sub != nil {
		if s, err := url.Parse(d.Sub.URI); err == nil && s.Host == u.Host {
			cam.SubPath = s.RequestURI()
		}
	}
	return cam, nil
}

func printDescription(w io.Writer, d onvif.Description) {
	fmt.Fprintf(w, "\n%s\n  %s %s, firmware %s, serial %s\n", d.Device, d.Info.Manufacturer, d.Info.Model, d.Info.Firmware, d.Info.Serial)
	for _, p := range d.Profiles {
		role := ""
		switch {
		case d.Main != nil && p.Token == d.Main.Token:
			role = " (main)"
		case d.Sub != nil && p.Token == d.Sub.Token:
			role = " (sub)"
		}
		fmt.Fprintf(w, "  profile %s%s: %s %dx%d %g fps  %s\n", p.Token, role, p.Encoding, p.Width, p.Height, p.FPS, redactURL(p.URI))
	}
}

// redactURL hides a password in a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
