// Package testkit holds what many packages' tests share: a settable
// clock, waiting for a condition with a deadline, the kuzet binary under
// test, and the line between unit tests and multi-process ones.
//
// It is imported only by _test files and by other test helpers; it must
// not import any kuzet package, so that every package can use it.
package testkit
