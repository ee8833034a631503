// Package term reads what a person types to the command line: lines of
// standard input, and secrets and yes/no answers asked on the terminal.
//
// A secret is read without echo, and only from a terminal: stdin when it
// is one, else the controlling terminal (/dev/tty). Secrets never come from
// the command line, where other users and shell history would see them.
package term

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	xterm "golang.org/x/term"

	"github.com/rotator-pam/rotator/secret"
)

// Input asks a person for what a command needs.
type Input struct {
	// In is standard input.
	In io.Reader
	// Prompt receives the questions asked on the terminal (stderr, apart
	// from the command's output).
	Prompt io.Writer

	lines *bufio.Reader // In read line by line, shared by every Line
}

// Line reads the next line of standard input, without its line ending;
// what names it in errors ("password").
func (t *Input) Line(what string) (string, error) {
	if t.lines == nil {
		t.lines = bufio.NewReader(t.In)
	}
	line, err := t.lines.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s on standard input", what)
		}
		return "", fmt.Errorf("read %s from standard input: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// terminal returns a terminal to prompt on: stdin when it is one, else the
// controlling terminal.
func (t *Input) terminal() (in *os.File, closeFn func(), err error) {
	if f, ok := t.In.(*os.File); ok && xterm.IsTerminal(int(f.Fd())) {
		return f, func() {}, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, errors.New("no terminal to prompt on")
	}
	return tty, func() { tty.Close() }, nil
}

// Secret asks for a secret on the terminal without echo.
func (t *Input) Secret(prompt string) (secret.String, error) {
	tty, done, err := t.terminal()
	if err != nil {
		return secret.String{}, err
	}
	defer done()
	fmt.Fprint(t.Prompt, prompt)
	b, err := xterm.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(t.Prompt)
	if err != nil {
		return secret.String{}, fmt.Errorf("read from terminal: %w", err)
	}
	return secret.New(string(b)), nil
}

// Confirm asks a yes/no question on the terminal; only y or yes, in any
// case, is yes.
func (t *Input) Confirm(question string) (bool, error) {
	tty, done, err := t.terminal()
	if err != nil {
		return false, err
	}
	defer done()
	fmt.Fprintf(t.Prompt, "%s [y/N] ", question)
	return readYes(tty)
}

// readYes reads one answer: y or yes, in any case, is yes.
func readYes(r io.Reader) (bool, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

// IsTerminal reports whether w is a terminal, where output may be redrawn
// in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && xterm.IsTerminal(int(f.Fd()))
}
