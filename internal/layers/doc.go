// Package layers holds the test that keeps the packages' import rules: the
// rules their doc comments state, checked against what each package
// imports (not its tests). It has no code of its own.
package layers
