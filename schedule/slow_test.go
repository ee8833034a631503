package schedule

import "os"

// slowTests says whether to run the slow tests at full size:
// ROTATOR_SLOW_TESTS=1, which CI sets (.ci/run).
func slowTests() bool { return os.Getenv("ROTATOR_SLOW_TESTS") == "1" }
