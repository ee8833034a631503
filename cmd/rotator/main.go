// Command rotator keeps the passwords of web accounts fresh: it drives a
// headless Chromium through YAML login templates, changes each account's
// password on a schedule, and pauses for an operator when a site puts up a
// CAPTCHA or a trust-this-browser check.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &app{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		now:    time.Now,
	})
	stop()
	os.Exit(code)
}
