// Package evidence makes and checks export packages: the video of one or
// more cameras over a time range, as a zip holding each camera's MP4, a
// manifest naming who exported what and why with every file's size and
// sha256, the manifest's signature by the exporting node's key, and the
// certificate (or public key) that verifies it. A court, a partner agency
// or a colleague can check with `kuzet export verify` that nothing was
// altered, added or left out since the node made it, and, given the
// federation CA, which node made it.
//
// It may import pki only.
package evidence
