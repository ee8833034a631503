//go:build race

package main

// raceEnabled is set under -race, where the crash test's 25 kills of an
// instrumented binary take minutes: it runs in a plain `go test` instead
// (the README's test command has one).
const raceEnabled = true
