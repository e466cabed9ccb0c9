package web

// RequireTools is requireTools for the browser tests of package web_test.
var RequireTools = requireTools
