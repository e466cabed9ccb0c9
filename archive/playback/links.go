package playback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A playlist's media are reached through links it signs: vod/{link}/{path}.
// A link names the file, the shift of its decode times, the cut (if the
// link serves the range's last fragment cut short), the byte spans the
// playlist lists from it, when it ends and, through its MAC, the caller
// the playlist was made for. So whoever may play a range can fetch what
// its playlist lists and nothing more: not another file, not the rest of
// the file, not another user's playlist. Whole files and arbitrary shifts
// and cuts stay with files/, media/ and cut/, which are exports.

const (
	linkVersion = 1
	linkMACLen  = 16
	maxSpans    = 4
)

// span is a half-open byte range [Lo, Hi) of a link's body.
type span struct{ Lo, Hi int64 }

// link is what a playlist's media URI grants.
type link struct {
	Expires time.Time
	Shift   int64
	Cut     bool
	Until   uint64 // with Cut
	Spans   []span
}

func (h *Handler) linkMAC(body []byte, caller, rel string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("kuzet-vod-link-v1\x00"))
	m.Write(body)
	m.Write([]byte{0})
	m.Write([]byte(caller))
	m.Write([]byte{0})
	m.Write([]byte(rel))
	return m.Sum(nil)[:linkMACLen]
}

// sign encodes a link for the caller and the file rel.
func (h *Handler) sign(l link, caller, rel string) string {
	b := []byte{linkVersion, 0}
	if l.Cut {
		b[1] = 1
	}
	b = binary.BigEndian.AppendUint64(b, uint64(l.Expires.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Shift))
	if l.Cut {
		b = binary.BigEndian.AppendUint64(b, l.Until)
	}
	b = append(b, byte(len(l.Spans)))
	for _, s := range l.Spans {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Lo))
		b = binary.BigEndian.AppendUint64(b, uint64(s.Hi))
	}
	b = append(b, h.linkMAC(b, caller, rel)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errLink = errors.New("not a playback link of this node for this user and file (links expire, and end when the node restarts: load the playlist again)")

// verify decodes a link made by sign for the same caller and file.
func (h *Handler) verify(tok, caller, rel string, now time.Time) (link, error) {
	var l link
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2+16+1+linkMACLen || b[0] != linkVersion || b[1] > 1 {
		return l, errLink
	}
	body, mac := b[:len(b)-linkMACLen], b[len(b)-linkMACLen:]
	if !hmac.Equal(mac, h.linkMAC(body, caller, rel)) {
		return l, errLink
	}
	l.Cut = body[1] == 1
	p := body[2:]
	u64 := func() uint64 {
		v := binary.BigEndian.Uint64(p)
		p = p[8:]
		return v
	}
	l.Expires = time.Unix(int64(u64()), 0)
	l.Shift = int64(u64())
	if l.Cut {
		if len(p) < 9 {
			return l, errLink
		}
		l.Until = u64()
	}
	n := int(p[0])
	p = p[1:]
	if n > maxSpans || len(p) != 16*n {
		return l, errLink
	}
	for range n {
		l.Spans = append(l.Spans, span{int64(u64()), int64(u64())})
	}
	if !now.Before(l.Expires) {
		return l, errLink
	}
	return l, nil
}

// mediaLinks makes the URIs of one playlist group: media for the init
// and the whole fragments, cut for the last fragment cut at the range's
// end; spans are what the playlist lists from each.
func (h *Handler) mediaLinks(caller string, exp time.Time, p *piece, segs []hlsSegment, tail *tailCut) (media, cut string) {
	ms := []span{{0, p.Index.InitEnd}}
	var body, cutSpan *span
	for _, s := range segs {
		sp := span{s.off, s.off + s.size}
		dst := &body
		if s.cut {
			dst = &cutSpan
		}
		if *dst == nil {
			*dst = &sp
			continue
		}
		(*dst).Lo, (*dst).Hi = min((*dst).Lo, sp.Lo), max((*dst).Hi, sp.Hi)
	}
	if body != nil {
		ms = append(ms, *body)
	}
	rel := p.Seg.Path
	uri := escapePath(rel)
	media = "vod/" + h.sign(link{Expires: exp, Shift: p.Shift, Spans: ms}, caller, rel) + "/" + uri
	if cutSpan != nil && tail != nil {
		cut = "vod/" + h.sign(link{Expires: exp, Shift: p.Shift, Cut: true, Until: tail.until, Spans: []span{*cutSpan}}, caller, rel) + "/" + uri
	}
	return media, cut
}

// caller names who asks ("" without logins).
func (h *Handler) caller(r *http.Request) string {
	if h.o.Caller == nil {
		return ""
	}
	return h.o.Caller(r)
}

// vod serves a playlist's media through its link: the byte ranges the
// playlist lists, and only those.
func (h *Handler) vod(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	l, err := h.verify(r.PathValue("link"), h.caller(r), rel, time.Now())
	if err != nil {
		writeError(w, &apiError{Code: http.StatusNotFound, Param: "link", Msg: "link: " + err.Error()})
		return
	}
	check := func(size int64) *apiError { return checkRanges(r.Header.Get("Range"), size, l.Spans) }
	if l.Cut {
		h.serveCut(w, r, rel, l.Shift, l.Until, check)
		return
	}
	h.serveMedia(w, r, rel, l.Shift, check)
}

// checkRanges accepts a Range header whose every range lies inside one of
// spans of a body of size bytes.
func checkRanges(hdr string, size int64, spans []span) *apiError {
	refuse := func(format string, args ...any) *apiError {
		return &apiError{Code: http.StatusRequestedRangeNotSatisfiable, Param: "Range", Msg: "Range: " + fmt.Sprintf(format, args...)}
	}
	spec, ok := strings.CutPrefix(hdr, "bytes=")
	if hdr == "" || !ok {
		return refuse("a playlist link serves the byte ranges its playlist lists; ask for one with Range: bytes=FIRST-LAST")
	}
	for _, rs := range strings.Split(spec, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(rs), "-")
		if !ok {
			return refuse("%q is not a byte range", rs)
		}
		var lo, hi int64 // inclusive
		switch {
		case a == "": // the last b bytes
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n <= 0 {
				return refuse("%q is not a byte range", rs)
			}
			lo, hi = max(0, size-n), size-1
		default:
			var err error
			if lo, err = strconv.ParseInt(a, 10, 64); err != nil || lo < 0 {
				return refuse("%q is not a byte range", rs)
			}
			hi = size - 1
			if b != "" {
				if hi, err = strconv.ParseInt(b, 10, 64); err != nil || hi < lo {
					return refuse("%q is not a byte range", rs)
				}
				hi = min(hi, size-1)
			}
		}
		if lo > hi {
			return refuse("%q lies outside the %d bytes", rs, size)
		}
		inside := false
		for _, s := range spans {
			inside = inside || (lo >= s.Lo && hi < s.Hi)
		}
		if !inside {
			return refuse("bytes %d-%d are not listed by the playlist this link belongs to", lo, hi)
		}
	}
	return nil
}
