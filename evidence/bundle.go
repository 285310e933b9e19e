package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LockName is the file [Seal] writes beside the manifest.
const LockName = "bundle.lock"

const lockHeader = "signoff bundle lock v1\n"

// maxLock bounds a lock file: a line per named file.
const maxLock = 4 << 20

// A Lock pins every file of a bundle by its SHA-256. Its text form is
// canonical (one line per file, sorted by name) and the bundle's digest is
// the SHA-256 of that text, so the digest covers the manifest and every
// file it names:
//
//	signoff bundle lock v1
//	sha256:<hex> <size> bundle.yaml
//	sha256:<hex> <size> MODEL_CARD.md
//	…
type Lock struct {
	Files []LockedFile // sorted by path; bundle.yaml among them
}

// LockedFile is one file of a lock.
type LockedFile struct {
	Path   string
	SHA256 [sha256.Size]byte
	Size   int64
}

// Bytes returns the lock's canonical text.
func (l *Lock) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(lockHeader)
	for _, f := range l.Files {
		fmt.Fprintf(&b, "sha256:%x %d %s\n", f.SHA256, f.Size, f.Path)
	}
	return b.Bytes()
}

// Digest returns "sha256:" and the hex SHA-256 of the lock's text: the
// bundle digest decisions sign.
func (l *Lock) Digest() string {
	sum := sha256.Sum256(l.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseLock parses a lock's text.
func ParseLock(data []byte) (*Lock, error) {
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: LockName, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > maxLock {
		return nil, perr(0, "%d bytes, more than %d", len(data), maxLock)
	}
	text, ok := strings.CutPrefix(string(data), lockHeader)
	if !ok {
		return nil, perr(1, "want %q", strings.TrimSpace(lockHeader))
	}
	l := &Lock{}
	for i, line := range strings.SplitAfter(text, "\n") {
		n := i + 2
		if line == "" {
			break
		}
		line, ok := strings.CutSuffix(line, "\n")
		if !ok {
			return nil, perr(n, "last line does not end in a newline")
		}
		sum, rest, ok1 := strings.Cut(line, " ")
		size, name, ok2 := strings.Cut(rest, " ")
		hexSum, ok3 := strings.CutPrefix(sum, "sha256:")
		var f LockedFile
		f.Size, _ = strconv.ParseInt(size, 10, 64)
		if !ok1 || !ok2 || !ok3 || !isSHA256Hex(hexSum) || strconv.FormatInt(f.Size, 10) != size || f.Size < 0 {
			return nil, perr(n, "want sha256:<64 hex> <size> <file>")
		}
		hex.Decode(f.SHA256[:], []byte(hexSum))
		f.Path = name
		if err := CheckPath(name); err != nil && name != ManifestName {
			return nil, perr(n, "%v", err)
		}
		if len(l.Files) > 0 && l.Files[len(l.Files)-1].Path >= name {
			return nil, perr(n, "files are not sorted by name, or one is listed twice")
		}
		l.Files = append(l.Files, f)
	}
	return l, nil
}

// A Bundle is an evidence directory, opened so that no file name in its
// manifest can reach outside it, through "..", an absolute name or a
// symbolic link.
type Bundle struct {
	Dir      string
	Manifest *Manifest
	root     *os.Root
}

// Open opens the bundle in dir and parses its manifest.
func Open(dir string) (*Bundle, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to open bundle: %w", err)
	}
	data, err := readFile(root, ManifestName, MaxManifest)
	if errors.Is(err, ErrMissing) {
		root.Close()
		return nil, fmt.Errorf("%s has no %s: a bundle is a directory with a manifest", dir, ManifestName)
	} else if err != nil {
		root.Close()
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		root.Close()
		return nil, err
	}
	return &Bundle{Dir: dir, Manifest: m, root: root}, nil
}

// Close releases the bundle's directory.
func (b *Bundle) Close() error { return b.root.Close() }

// ReadFile reads a file the manifest names, refusing more than limit
// bytes.
func (b *Bundle) ReadFile(name string, limit int64) ([]byte, error) {
	return readFile(b.root, name, limit)
}

// Open opens a file of the bundle for streaming.
func (b *Bundle) Open(name string) (*os.File, error) {
	return openRegular(b.root, name)
}

// openRegular opens name inside root, refusing anything but a regular file
// (a FIFO or device would hang or never end).
func openRegular(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return f, nil
}

func readFile(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fileError(name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

// ErrMissing is returned for a file the manifest names that is not there.
var ErrMissing = errors.New("the manifest names it but it is not in the bundle")

func fileError(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", name, ErrMissing)
	case strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes"):
		return fmt.Errorf("%s leads outside the bundle (a symbolic link?): refused", name)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Lock hashes the manifest and every file it names, in parallel, and
// returns the lock. An artifact whose manifest sha256 does not match its
// file is an error.
func (b *Bundle) Lock() (*Lock, error) {
	locked, errs := b.hash()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, a := range b.Manifest.Artifacts {
		if a.SHA256 == "" {
			continue
		}
		i := slices.IndexFunc(locked, func(f LockedFile) bool { return f.Path == a.Path })
		if hex.EncodeToString(locked[i].SHA256[:]) != a.SHA256 {
			return nil, fmt.Errorf("artifact %s: its sha256 is %x, the manifest says %s", a.Path, locked[i].SHA256, a.SHA256)
		}
	}
	return &Lock{Files: sortFiles(locked)}, nil
}

// hash hashes the manifest and every file it names, several files at once,
// and returns them in manifest order, each with the error, if any, that
// kept it from being hashed.
func (b *Bundle) hash() ([]LockedFile, []error) {
	files := b.Manifest.files()
	paths := []string{ManifestName}
	for _, f := range files {
		if !slices.Contains(paths, f.path) {
			paths = append(paths, f.path)
		}
	}
	locked := make([]LockedFile, len(paths))
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for i := range next {
				locked[i], errs[i] = hashFile(b.root, paths[i], buf)
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range locked {
		locked[i].Path = paths[i]
	}
	return locked, errs
}

func sortFiles(fs []LockedFile) []LockedFile {
	slices.SortFunc(fs, func(x, y LockedFile) int { return strings.Compare(x.Path, y.Path) })
	return fs
}

func hashFile(root *os.Root, name string, buf []byte) (LockedFile, error) {
	f, err := openRegular(root, name)
	if err != nil {
		return LockedFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, buf)
	if err != nil {
		return LockedFile{}, fileError(name, err)
	}
	lf := LockedFile{Path: name, Size: n}
	h.Sum(lf.SHA256[:0])
	return lf, nil
}

// Seal locks the bundle and writes bundle.lock, replacing any earlier one
// only once the new one is complete.
func (b *Bundle) Seal() (*Lock, error) {
	l, err := b.Lock()
	if err != nil {
		return nil, err
	}
	tmp := LockName + ".new"
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", LockName, err)
	}
	_, err = f.Write(l.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = b.root.Rename(tmp, LockName)
	}
	if err != nil {
		b.root.Remove(tmp)
		return nil, fmt.Errorf("failed to write %s: %w", LockName, err)
	}
	return l, nil
}

// FileStatus says how a file compares with the lock.
type FileStatus struct {
	Path   string `json:"path"`
	Status string `json:"status"` // "sealed", "changed", "missing", "unsealed"
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size"`
}

// Status compares the bundle with its lock: each file sealed, changed
// since sealing, missing, or named by the manifest but not in the lock.
// A nil sealed lock means the bundle was never sealed.
type Status struct {
	Digest       string       `json:"digest"`        // of the files as they are now
	SealedDigest string       `json:"sealed_digest"` // of bundle.lock, "" if none
	Files        []FileStatus `json:"files"`
}

// Intact reports whether the bundle is as it was sealed.
func (s *Status) Intact() bool { return s.SealedDigest != "" && s.Digest == s.SealedDigest }

// Changed names the files that are not as sealed ("card.md changed",
// "rollback.md missing"), or, for a bundle never sealed, says so.
func (s *Status) Changed() []string {
	if s.SealedDigest == "" {
		return []string{"not sealed"}
	}
	var out []string
	for _, f := range s.Files {
		if f.Status != "sealed" {
			out = append(out, f.Path+" "+f.Status)
		}
	}
	if len(out) == 0 && !s.Intact() {
		out = append(out, LockName+" does not match the files")
	}
	return out
}

// Check recomputes the bundle's lock and compares it with bundle.lock. A
// file that is not there shows as missing; a file that cannot be read
// safely is an error.
func (b *Bundle) Check() (*Status, error) {
	hashed, errs := b.hash()
	var present []LockedFile
	missing := make(map[string]bool)
	for i, err := range errs {
		switch {
		case err == nil:
			present = append(present, hashed[i])
		case errors.Is(err, ErrMissing):
			missing[hashed[i].Path] = true
		default:
			return nil, err
		}
	}
	now := &Lock{Files: sortFiles(present)}
	st := &Status{Digest: now.Digest()}
	var sealed *Lock
	data, err := readFile(b.root, LockName, maxLock)
	switch {
	case err == nil:
		if sealed, err = ParseLock(data); err != nil {
			return nil, err
		}
		st.SealedDigest = sealed.Digest()
	case !errors.Is(err, ErrMissing):
		return nil, err
	}
	was := make(map[string]LockedFile)
	if sealed != nil {
		for _, f := range sealed.Files {
			was[f.Path] = f
		}
	}
	for _, f := range now.Files {
		fs := FileStatus{Path: f.Path, SHA256: "sha256:" + hex.EncodeToString(f.SHA256[:]), Size: f.Size, Status: "sealed"}
		if old, ok := was[f.Path]; !ok {
			fs.Status = "unsealed"
		} else if old.SHA256 != f.SHA256 {
			fs.Status = "changed"
		}
		delete(was, f.Path)
		st.Files = append(st.Files, fs)
	}
	for _, f := range was {
		st.Files = append(st.Files, FileStatus{Path: f.Path, Status: "missing", Size: f.Size})
		delete(missing, f.Path)
	}
	for p := range missing {
		st.Files = append(st.Files, FileStatus{Path: p, Status: "missing"})
	}
	slices.SortFunc(st.Files, func(x, y FileStatus) int { return strings.Compare(x.Path, y.Path) })
	return st, nil
}

// SealedLock reads and parses the bundle's bundle.lock, as sealed; it
// does not compare it with the files (see [Bundle.Check]).
func (b *Bundle) SealedLock() (*Lock, error) {
	data, err := readFile(b.root, LockName, maxLock)
	if errors.Is(err, ErrMissing) {
		return nil, fmt.Errorf("%s is not sealed (run signoff bundle seal %s)", b.Dir, b.Dir)
	} else if err != nil {
		return nil, err
	}
	return ParseLock(data)
}

// File returns the locked file named path, if the lock has it.
func (l *Lock) File(path string) (LockedFile, bool) {
	i, ok := slices.BinarySearchFunc(l.Files, path, func(f LockedFile, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return LockedFile{}, false
	}
	return l.Files[i], true
}
