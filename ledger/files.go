package ledger

import (
	"fmt"
	"os"
	"path/filepath"
)

// OpenRegular opens path for reading if it is a regular file, and says
// so if it is not, without ever blocking on it: a FIFO or a device put
// where a file was expected (a remote's batch, a home's state) cannot
// hang a command.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// ReadBounded reads a regular file (see [OpenRegular]) of at most limit
// bytes.
func ReadBounded(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", path, fi.Size(), limit)
	}
	data := make([]byte, fi.Size())
	_, err = f.ReadAt(data, 0)
	if err != nil && fi.Size() > 0 {
		return nil, err
	}
	return data, nil
}

// WriteTemp writes data to a new temporary file in dir and syncs it, for
// putting in place whole (by rename or link); the caller removes the name
// it returns.
func WriteTemp(dir string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// WriteFileAtomic replaces path with data, durably: a reader sees the old
// bytes or the new, never part of them. The directory is created if it is
// not there.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := WriteTemp(dir, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
