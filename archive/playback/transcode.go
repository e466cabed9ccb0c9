package playback

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	"github.com/kuzet/kuzet/decode"
)

// transcode is GET {prefix}/transcode.mp4?camera&from&to: a range of a
// camera browsers cannot play (H.265 in most, M-JPEG and MPEG-4 Part 2 in
// all) as H.264 in a fragmented MP4 that a video element plays as it
// arrives. ffmpeg reads the range's export (the recorded bytes, never
// re-encoded twice) and encodes only as fast as the browser reads.
func (h *Handler) transcode(w http.ResponseWriter, r *http.Request) {
	q, pl, ok := h.rangePlan(w, r, "transcode", true)
	if !ok {
		return
	}
	if codec := pl.Pieces[0].Seg.Codec; codec == "h264" {
		writeError(w, &apiError{Code: http.StatusBadRequest,
			Msg: fmt.Sprintf("camera %s is recorded in H.264: play %s/play.m3u8, no transcoding needed", q.Camera, h.o.Prefix)})
		return
	}
	if aerr := sameParameters(pl); aerr != nil {
		writeError(w, aerr)
		return
	}
	t := h.o.Transcode
	if n := h.transcodes.Add(1); t.Max < 0 || n > int32(t.Max) {
		h.transcodes.Add(-1)
		w.Header().Set("Retry-After", "30")
		writeError(w, &apiError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("archive transcoding is at its limit of %d ranges on this node (live.transcode.max)", max(t.Max, 0))})
		return
	}
	defer h.transcodes.Add(-1)
	h.m.transcodes.Inc()
	defer h.m.transcodes.Dec()
	ex, err := h.prepareExport(pl)
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("prepare %s: %v", q.Camera, err)})
		return
	}
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "mp4", "-i", "pipe:0"}, t.EncodeArgs()...)
	cmd := exec.CommandContext(r.Context(), t.FFmpeg, append(args,
		"-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: err.Error()})
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: err.Error()})
		return
	}
	var stderr decode.Stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("start %s: %v", t.FFmpeg, err)})
		return
	}
	fed := make(chan error, 1)
	go func() {
		err := ex.write(r, stdin)
		_ = stdin.Close()
		fed <- err
	}()
	hd := w.Header()
	hd.Set("Content-Type", "video/mp4")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Archive-Start", pl.Pieces[0].Start.UTC().Format(time.RFC3339Nano))
	hd.Set("X-Archive-End", ex.end.UTC().Format(time.RFC3339Nano))
	hd.Set("X-Archive-Holes", strconv.Itoa(pl.Holes))
	w.WriteHeader(http.StatusOK)
	n, cerr := io.Copy(w, stdout)
	if cerr != nil {
		_ = cmd.Process.Kill() // the browser went away: stop encoding
	}
	werr := cmd.Wait()
	ferr := <-fed
	h.m.transcodeCPU.Add(cmdCPU(cmd))
	if r.Context().Err() == nil && cerr == nil && (werr != nil || (ferr != nil && !errors.Is(ferr, io.ErrClosedPipe))) {
		h.o.Logger.Warn("archive transcode failed", "camera", q.Camera, "err", errors.Join(werr, ferr), "ffmpeg", stderr.String())
	}
	h.o.Logger.Info("archive transcoded", "camera", q.Camera, "from", q.From, "to", q.To, "bytes", n)
}

// cmdCPU is the CPU time a finished command used.
func cmdCPU(cmd *exec.Cmd) float64 {
	if cmd.ProcessState == nil {
		return 0
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}
