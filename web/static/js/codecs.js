// What this browser plays as a camera sends it, and how codecs are named.
// H.264 plays everywhere; H.265 only where MSE takes it and a decoder
// exists (MSE alone says yes on platforms that then fail to decode, so the
// WebCodecs decoder is asked too; until it answers, H.265 is transcoded);
// M-JPEG and MPEG-4 Part 2 nowhere. The node transcodes the rest.

let hevcDecodes = false;
{
  const MS = window.ManagedMediaSource || window.MediaSource;
  const codec = 'hvc1.1.6.L93.B0';
  if (MS && MS.isTypeSupported && MS.isTypeSupported(`video/mp4; codecs="${codec}"`) && window.VideoDecoder) {
    VideoDecoder.isConfigSupported({ codec })
      .then((r) => { hevcDecodes = !!r.supported; })
      .catch(() => {});
  }
}

// playsNatively reports whether a camera's codec plays as it comes; an
// unknown codec is tried as it comes.
export function playsNatively(codec) {
  if (!codec || codec === 'h264') return true;
  return codec === 'h265' && hevcDecodes;
}

export function codecName(codec) {
  return { h264: 'H.264', h265: 'H.265', mjpeg: 'M-JPEG', mpeg4: 'MPEG-4 Part 2' }[codec] || codec;
}
