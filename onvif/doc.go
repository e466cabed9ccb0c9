// Package onvif speaks the part of ONVIF a site needs to add its cameras
// (NVMS-6.13): WS-Discovery on the site's network, and the device and
// media services — who the device is, its media profiles and their
// stream URIs — with WS-Security UsernameToken (digest) credentials, or
// HTTP digest where a device asks for it.
//
// The SOAP envelopes are written and read here, in one place; every
// parser takes at most MaxResponse bytes and is fuzzed (make fuzz). It
// imports no package of the node.
package onvif
