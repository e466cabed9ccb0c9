#!/usr/bin/env bash
# Generates testcam/plates720p.h264 (the synthetic camera's clip, embedded by
# the testcam package) and testdata/plates720p.txt (when each licence plate
# is fully in view).
#
# Everything is drawn by ffmpeg's lavfi sources and filters, so the clip is
# reproducible on any machine with Debian's ffmpeg and DejaVu fonts; nothing is
# downloaded. Usage: bash testdata/make-clip.sh   (from any directory)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(dirname "$here")/testcam/plates720p.h264"
txt="$here/plates720p.txt"
fontdir=/usr/share/fonts/truetype/dejavu
plate_font="$fontdir/DejaVuSans-Bold.ttf"
osd_font="$fontdir/DejaVuSans.ttf"

for f in "$plate_font" "$osd_font"; do
	[[ -r $f ]] || { echo "missing font $f (apt-get install fonts-dejavu-core)" >&2; exit 1; }
done
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 1; }

W=1280 H=720 FPS=25 DUR=20

# One line per vehicle: plate text (KZ, RU, UA, KZ formats), body colour, and
# the time (s) its front edge enters the frame on the left.
plates=(123ABC02 A123BC77 AA1234BB 456KTA05)
colors=(0x1f4e9c 0x8c2d19 0x2f6b2f 0xb07a12)
starts=(0.4 5.0 9.6 14.2)

# Vehicle geometry on its own transparent canvas (px). It drives left to right
# at SPEED px/s, so it crosses the frame in (W+VW)/SPEED = 5 s, and the road is
# empty at the start and end of the clip: the loop has no visible seam.
VW=820 VH=340 SPEED=420 VY=262
PX=60 PY=88 PW=480 PH=112 PB=10 # plate box and its black border
FONTSIZE=70                      # DejaVu Sans Bold: ~51 px capitals, plain 0

graph="$(mktemp)"
trap 'rm -f "$graph"' EXIT

{
	# Road scene: a still, noisy base (asphalt texture) tinted per region with
	# translucent boxes, so the texture shows through everywhere.
	printf '[0:v]noise=alls=36:allf=u:all_seed=7,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/%d/TB,' "$FPS"
	printf 'drawbox=x=0:y=0:w=%d:h=205:c=0x8ea4b8@0.75:t=fill,' "$W"          # sky / far wall
	printf 'drawbox=x=0:y=150:w=%d:h=55:c=0x6b6b60@0.8:t=fill,' "$W"          # fence
	printf 'drawbox=x=0:y=205:w=%d:h=28:c=0xc8c8c0@0.85:t=fill,' "$W"         # far kerb
	printf 'drawbox=x=0:y=233:w=%d:h=420:c=0x383838@0.72:t=fill,' "$W"        # asphalt
	printf 'drawbox=x=0:y=653:w=%d:h=67:c=0x9a9a90@0.8:t=fill' "$W"           # near kerb
	for ((x = 20; x < W; x += 160)); do
		printf ',drawbox=x=%d:y=438:w=90:h=10:c=white@0.85:t=fill' "$x"   # lane dashes
	done
	printf '[bg];\n'

	for i in "${!plates[@]}"; do
		c=${colors[i]}
		# Static vehicle drawn once on a transparent canvas, then looped.
		# (yuva444p: drawbox replace=1 crashes on packed RGBA in ffmpeg 5.1.)
		printf 'color=c=black@0:s=%dx%d:r=%d,format=yuva444p,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/%d/TB,' "$VW" "$VH" "$FPS" "$FPS"
		printf 'drawbox=x=0:y=0:w=600:h=262:c=%s:t=fill:replace=1,' "$c"                  # trailer
		printf 'drawbox=x=0:y=0:w=600:h=262:c=black@0.45:t=6,'                             # trailer outline
		printf 'drawbox=x=612:y=58:w=190:h=204:c=%s:t=fill:replace=1,' "$c"               # cab
		printf 'drawbox=x=690:y=76:w=98:h=74:c=0xa8c8e0:t=fill:replace=1,'                # windscreen
		printf 'drawbox=x=0:y=262:w=806:h=24:c=0x202020:t=fill:replace=1,'                # chassis
		for wx in 50 130 440 520 690; do
			printf 'drawbox=x=%d:y=270:w=66:h=66:c=0x111111:t=fill:replace=1,' "$wx"      # wheel
			printf 'drawbox=x=%d:y=293:w=20:h=20:c=0x8a8a8a:t=fill:replace=1,' "$((wx + 23))"
		done
		printf 'drawbox=x=%d:y=%d:w=%d:h=%d:c=white:t=fill:replace=1,' "$PX" "$PY" "$PW" "$PH"
		printf 'drawbox=x=%d:y=%d:w=%d:h=%d:c=black:t=%d:replace=1,' "$PX" "$PY" "$PW" "$PH" "$PB"
		printf "drawtext=fontfile=%s:text=%s:fontsize=%d:fontcolor=black:x=%d+(%d-tw)/2:y=%d+(%d-th)/2" \
			"$plate_font" "${plates[i]}" "$FONTSIZE" "$PX" "$PW" "$PY" "$PH"
		printf '[v%d];\n' "$i"
	done

	prev=bg
	for i in "${!plates[@]}"; do
		printf '[%s][v%d]overlay=x=%d*(t-%s)-%d:y=%d:eval=frame:shortest=0:eof_action=pass[o%d];\n' \
			"$prev" "$i" "$SPEED" "${starts[i]}" "$VW" "$VY" "$i"
		prev="o$i"
	done

	# Mild sensor noise over everything plus a small OSD, like a real camera.
	printf '[%s]noise=alls=5:allf=t:all_seed=11,' "$prev"
	printf "drawtext=fontfile=%s:text='KUZET TESTCAM  %%{pts\\:hms}':fontsize=22:fontcolor=white:box=1:boxcolor=black@0.55:boxborderw=6:x=16:y=16," "$osd_font"
	printf 'format=yuv420p[out]\n'
} >"$graph"

# What a recorder expects from an IP camera: no B-frames, a closed GOP with an
# IDR every second (a new reader sees a picture within 1 s), SPS/PPS repeated
# before every IDR, and an access unit delimiter before every frame (the
# testcam parser splits frames on them). One encoder thread: x264's threaded
# rate control is not bit-exact run to run, and a regenerated clip should be
# byte-identical (with the same x264 build).
ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "color=c=0x808080:s=${W}x${H}:r=${FPS}" \
	-filter_complex_script "$graph" -map '[out]' \
	-t "$DUR" -r "$FPS" \
	-c:v libx264 -threads 1 -preset medium -profile:v high -pix_fmt yuv420p -bf 0 \
	-b:v 1200k -maxrate 1500k -bufsize 2000k \
	-x264-params "keyint=25:min-keyint=25:scenecut=0:open-gop=0:aud=1:repeat-headers=1:sliced-threads=0" \
	-f h264 "$out"

# The plate is fully in view while its left edge is >= 0 and its right edge is
# <= W; derive those instants from the same motion the overlay uses.
: >"$txt"
for i in "${!plates[@]}"; do
	awk -v s="${starts[i]}" -v v="$SPEED" -v vw="$VW" -v px="$PX" -v pw="$PW" -v w="$W" -v p="${plates[i]}" \
		'BEGIN { printf "%.2f %.2f %s\n", s + (vw - px) / v, s + (w + vw - px - pw) / v, p }' >>"$txt"
done

# The sub-stream an IP camera offers beside its main stream: the same
# frames at 640x360, for small tiles of a live grid.
sub="$(dirname "$here")/testcam/plates360p.h264"
ffmpeg -hide_banner -loglevel error -y -r "$FPS" -f h264 -i "$out" -vf scale=640:360 -r "$FPS" \
	-c:v libx264 -threads 1 -preset medium -profile:v high -pix_fmt yuv420p -bf 0 \
	-b:v 300k -maxrate 400k -bufsize 600k \
	-x264-params "keyint=25:min-keyint=25:scenecut=0:open-gop=0:aud=1:repeat-headers=1:sliced-threads=0" \
	-f h264 "$sub"

echo "wrote $out ($(stat -c %s "$out") bytes), $sub and $txt:"
cat "$txt"
