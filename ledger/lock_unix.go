//go:build unix

package ledger

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path, failing at once with
// [ErrLocked] if another open file holds it.
func lockDir(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return flock(f, syscall.LOCK_EX)
}

// lockShared takes a shared advisory lock on path, failing at once with
// [ErrLocked] if an exclusive lock holds it, and creates nothing. Where
// path does not exist it locks store, a directory that a writing Badger
// holds locked exclusively and a reading one shared.
func lockShared(path, store string) (func(), error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.Open(store)
	}
	if err != nil {
		return nil, err
	}
	return flock(f, syscall.LOCK_SH)
}

// flock locks f in mode without waiting, and returns how to unlock it.
func flock(f *os.File, mode int) (func(), error) {
	if err := syscall.Flock(int(f.Fd()), mode|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// openNonblock opens without waiting for a writer, should the path be a
// FIFO: an open of a FIFO for reading blocks until one comes.
const openNonblock = syscall.O_NONBLOCK
