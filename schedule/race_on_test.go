//go:build race

package schedule

// raceEnabled is set under -race, where the simulation's SQLite
// transactions run twenty times slower: it runs small there, and at full
// size in a plain `go test` (CI has one).
const raceEnabled = true
