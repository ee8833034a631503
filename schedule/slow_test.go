package schedule

import "os"

// slowTests says whether to run the slow tests at full size:
// ROTATOR_SLOW_TESTS=1 (developers; CI runs them at their small size).
func slowTests() bool { return os.Getenv("ROTATOR_SLOW_TESTS") == "1" }
