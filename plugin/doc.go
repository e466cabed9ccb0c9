// Package plugin runs the node's analytics plugins (docs/plugins.md):
// separate processes it starts, limits and restarts, each speaking
// protocol v1 over a Unix socket of its own. A plugin sees decoded frames
// of the cameras its configuration grants and the events it may
// subscribe to, and posts events that are stored as plugin.<name>.<kind>
// with the plugin named as their source. Nothing a plugin does can stall
// ingest: frames are dropped for a slow plugin and counted.
//
// It knows cameras through a FrameSource and the archive through an
// Archive; it must not import site, archive, agent or federation.
package plugin
