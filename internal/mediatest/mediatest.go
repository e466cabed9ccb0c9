// Package mediatest checks recorded files the way an outside player would:
// with Debian's ffprobe and ffmpeg. Tests only.
package mediatest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Info is what ffprobe reports of a file's first video stream.
type Info struct {
	Codec    string
	Width    int
	Height   int
	Duration float64 // seconds
	Frames   int
	FirstKey bool // the first frame is a keyframe
}

// Probe runs ffprobe on path; the test is skipped when ffprobe is missing.
func Probe(t testing.TB, path string) Info {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not installed: apt-get install -y ffmpeg")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_packets:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Packets   string `json:"nb_read_packets"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %s", path, out)
	}
	p := Info{Codec: r.Streams[0].CodecName, Width: r.Streams[0].Width, Height: r.Streams[0].Height}
	p.Duration, _ = strconv.ParseFloat(r.Format.Duration, 64)
	p.Frames, _ = strconv.Atoi(r.Streams[0].Packets)
	key, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
		"-show_entries", "frame=key_frame", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe first frame of %s: %v", path, err)
	}
	p.FirstKey = len(key) > 0 && key[0] == '1'
	return p
}

// DecodeErrors decodes the whole file with ffmpeg and returns what it
// complained about ("" when the file decodes cleanly).
func DecodeErrors(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return err.Error() + ": " + string(out)
	}
	return string(out)
}

// SHA256 of a file, hex.
func SHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
