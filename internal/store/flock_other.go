//go:build !unix

package store

import (
	"os"
	"sync"
)

// Without flock, the lock holds within this process only.
var flocked sync.Map

// tryFlock locks the file's path in this process without waiting.
func tryFlock(f *os.File) (release func(), err error) {
	if _, held := flocked.LoadOrStore(f.Name(), true); held {
		return nil, errLocked
	}
	return func() { flocked.Delete(f.Name()) }, nil
}
