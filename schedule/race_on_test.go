//go:build race

package schedule

// raceEnabled is set under -race, where the 30-day simulation's 60,000
// SQLite transactions take minutes: it runs in a plain `go test` instead
// (the README's test command has one).
const raceEnabled = true
