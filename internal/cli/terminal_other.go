//go:build !linux

package cli

import (
	"errors"
	"os"
)

// isTerminal reports whether f is a terminal: elsewhere than on Linux,
// input is read as from a pipe, and the password is typed visibly.
func isTerminal(f *os.File) bool { return false }

func hideInput(f *os.File) (restore func(), err error) {
	return nil, errors.New("hiding input is supported on Linux only")
}
