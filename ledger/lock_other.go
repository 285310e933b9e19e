//go:build !unix

package ledger

// lockDir relies on Badger's own directory lock where flock is missing.
func lockDir(path string) (func(), error) { return func() {}, nil }

// lockShared relies on Badger's own directory lock where flock is missing.
func lockShared(path, store string) (func(), error) { return func() {}, nil }

// openNonblock is nothing where there are no FIFOs to wait on.
const openNonblock = 0
