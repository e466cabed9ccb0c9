// Package web serves the operator console: a single-page application of
// plain JavaScript modules, HTML and CSS embedded in the binary, talking to
// the node's own /api/v1 and /live routes. Any node serves it, site or
// centre; what it shows is what that node sees of the tree.
//
// It imports no kuzet package: the console speaks to the node only
// through HTTP.
package web
