package sync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// fileChunk is about how many bytes of a file remote are imported at once.
const fileChunk = 16 << 20

// SyncFile exchanges entries and blobs through a JSON Lines file in the
// export format, for an air gap: it takes in the lines after those read
// last time, as Sync takes a batch (what anchor admits), then appends
// what the file lacks. The
// file only grows: one that is shorter than before, or whose bytes
// already read changed, is a rollback or tampering, and nothing local is
// changed by it. A sync holds a lock on the file; a file system that
// cannot lock (some network shares) leaves keeping to one writer at a
// time to the people carrying the file.
func SyncFile(ctx context.Context, l *ledger.Ledger, path string, st *State, anchor string) (*Result, error) {
	st.init()
	res := newResult()
	g := homeGate(l, anchor, time.Now())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return res, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return res, err
	}
	defer f.Close()
	// One sync at a time per file: two appending at once would write
	// over each other.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		return res, fmt.Errorf("%s: another sync is using this file; try again when it is done", path)
	} else if err != nil && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.ENOLCK) {
		return res, fmt.Errorf("%s: locking it: %v", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	if !fi.Mode().IsRegular() {
		return res, fmt.Errorf("%s is not a regular file", path)
	}
	size := fi.Size()
	if size < st.FileOffset {
		return res, fmt.Errorf("%w: %s holds %d bytes, fewer than the %d read before", ErrRollback, path, size, st.FileOffset)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.FileOffset)); err != nil {
		return res, err
	}
	if st.FileOffset > 0 && "sha256:"+hex.EncodeToString(h.Sum(nil)) != st.FileDigest {
		return res, fmt.Errorf("%w: the first %d bytes of %s, read before, are not what they were", ErrTampered, st.FileOffset, path)
	}
	offset := st.FileOffset
	// pull takes the complete lines from offset to end.
	pull := func(end int64) error {
		sc := bufio.NewScanner(io.NewSectionReader(f, offset, end-offset))
		sc.Buffer(make([]byte, 0, 1<<20), maxBatch)
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				return i + 1, data[:i+1], nil
			}
			return 0, nil, nil // a line without its newline is not whole yet
		})
		var chunk bytes.Buffer
		flush := func() error {
			if chunk.Len() == 0 {
				return nil
			}
			res.Batches++
			if err := take(l, chunk.Bytes(), path, st, res, g); err != nil {
				return err
			}
			chunk.Reset()
			st.progress(res)
			return nil
		}
		for sc.Scan() {
			if err := ctx.Err(); err != nil {
				return err
			}
			line := sc.Bytes()
			h.Write(line)
			offset += int64(len(line))
			chunk.Write(line)
			if chunk.Len() >= fileChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if err := flush(); err != nil {
			return err
		}
		st.FileOffset, st.FileDigest = offset, "sha256:"+hex.EncodeToString(h.Sum(nil))
		return nil
	}
	if err := pull(size); err != nil {
		return res, err
	}
	if err := finish(l, st, res, g); err != nil {
		return res, err
	}
	// Push: append what the file lacks.
	end := size
	for {
		b, err := nextBatch(l, st)
		if err != nil || b.empty() {
			return res, err
		}
		if end > offset {
			// The last line is unfinished (a copy cut short, a writer that
			// stopped): end it, so that what is appended stays whole, and
			// read it like any other line, as every reader will.
			if _, err := f.WriteAt([]byte("\n"), end); err != nil {
				return res, err
			}
			end++
			res.warn(fmt.Sprintf("%s: the last line, at byte %d, was unfinished; it was ended with a newline", path, offset))
			if err := pull(end); err != nil {
				return res, err
			}
			if err := finish(l, st, res, g); err != nil {
				return res, err
			}
			if b, err = nextBatch(l, st); err != nil || b.empty() {
				return res, err
			}
		}
		if _, err := f.WriteAt(b.data, end); err != nil {
			return res, err
		}
		if err := f.Sync(); err != nil {
			return res, err
		}
		h.Write(b.data)
		end += int64(len(b.data))
		offset = end
		st.FileOffset, st.FileDigest = offset, "sha256:"+hex.EncodeToString(h.Sum(nil))
		b.done(st, res)
		st.progress(res)
		if !b.more {
			return res, nil
		}
	}
}
