//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock locks f exclusively without waiting; errLocked when another
// open file holds it (in this process or another). Closing f releases it.
func tryFlock(f *os.File) (release func(), err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, errLocked
	}
	return func() {}, err
}
