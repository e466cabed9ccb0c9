// Package record decides when a camera's main stream is recorded
// (NVMS-6.15): always, or on an event — motion in the picture, a plate
// read, an alarm, an API call — and in scheduled windows, keeping the
// seconds before the event and a while after it.
//
// A Gate sits in front of the archive's recorder as the camera's
// recording sink: it holds the last pre-event seconds (whole GOPs, from a
// keyframe) and hands them to the recorder when a trigger fires, then
// everything until the post-event time has passed, and suspends the
// recorder after that. Triggers come from the node (Triggers.Fire) and
// from the motion detector (Motion), which judges decoded frames with a
// mask. It imports no ingest and no storage: the recorder is an interface.
package record
