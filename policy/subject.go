package policy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// ErrNoEvidence is returned when a ledger lacks a bundle's evidence.
var ErrNoEvidence = errors.New("the ledger does not hold this bundle's evidence")

func lockedDigest(f evidence.LockedFile) string { return "sha256:" + hex.EncodeToString(f.SHA256[:]) }

// CarryEvidence stores the bundle's lock and evidence files (not its
// artifacts) in l as blobs, so that a reviewer can review and a verifier
// re-evaluate the gates with no copy of the bundle. Each file is checked
// against lock as it is read. It returns the blob digest of each file.
func CarryEvidence(l *ledger.Ledger, b *evidence.Bundle, lock *evidence.Lock) (map[string]string, error) {
	if d, err := l.PutBlob(lock.Bytes()); err != nil {
		return nil, err
	} else if d != lock.Digest() {
		return nil, fmt.Errorf("internal error: the lock's blob is %s, its digest %s", d, lock.Digest())
	}
	out := map[string]string{}
	for _, name := range b.Manifest.EvidenceFiles() {
		lf, ok := lock.File(name)
		if !ok {
			return nil, fmt.Errorf("%s is not in %s: seal the bundle again", name, evidence.LockName)
		}
		if lf.Size > ledger.MaxBlob {
			return nil, fmt.Errorf("%s is %d bytes; signoff carries evidence files of at most %d bytes in the ledger", name, lf.Size, ledger.MaxBlob)
		}
		data, err := b.ReadFile(name, ledger.MaxBlob)
		if err != nil {
			return nil, err
		}
		d := ledger.BlobDigest(data)
		if d != lockedDigest(lf) {
			return nil, fmt.Errorf("%s changed since the bundle was sealed: seal it again", name)
		}
		if _, err := l.PutBlob(data); err != nil {
			return nil, err
		}
		out[name] = d
	}
	return out, nil
}

// OpenFromLedger rebuilds the evidence of the bundle named digest from
// l's blobs, in a private temporary directory that close removes, and
// opens it. Its artifacts are not there; its lock and every evidence file
// are, each checked against the digest.
func OpenFromLedger(l *ledger.Ledger, digest string) (b *evidence.Bundle, lock *evidence.Lock, close func(), err error) {
	sb, err := sealedFromLedger(l, digest)
	if err != nil {
		return nil, nil, nil, err
	}
	lock, m, data, mdata := sb.lock, sb.manifest, sb.lockData, sb.manifestData
	dir, err := os.MkdirTemp("", "signoff-bundle-")
	if err != nil {
		return nil, nil, nil, err
	}
	close = func() { os.RemoveAll(dir) }
	fail := func(err error) (*evidence.Bundle, *evidence.Lock, func(), error) {
		close()
		return nil, nil, nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	write := func(name string, data []byte) error {
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		return root.WriteFile(name, data, 0o600)
	}
	if err := write(evidence.LockName, data); err != nil {
		return fail(err)
	}
	for _, name := range m.EvidenceFiles() {
		lf, ok := lock.File(name)
		if !ok {
			return fail(fmt.Errorf("the lock of %s has no %s", digest, name))
		}
		fdata := mdata
		if name != evidence.ManifestName {
			if fdata, err = evidenceBlob(l, name, lockedDigest(lf)); err != nil {
				return fail(err)
			}
		}
		if err := write(name, fdata); err != nil {
			return fail(err)
		}
	}
	if b, err = evidence.Open(dir); err != nil {
		return fail(err)
	}
	inner := close
	close = func() { b.Close(); inner() }
	return b, lock, close, nil
}

// A sealedBundle is a bundle's lock and manifest as the ledger's blobs
// hold them.
type sealedBundle struct {
	lock                   *evidence.Lock
	manifest               *evidence.Manifest
	lockData, manifestData []byte
}

// sealedFromLedger reads the lock of the bundle named digest and its
// manifest from l's blobs, each checked against its digest: what judging
// a bundle whose evidence is already evaluated needs.
func sealedFromLedger(l *ledger.Ledger, digest string) (*sealedBundle, error) {
	data, err := evidenceBlob(l, evidence.LockName, digest)
	if err != nil {
		return nil, err
	}
	lock, err := evidence.ParseLock(data)
	if err != nil {
		return nil, err
	}
	mf, ok := lock.File(evidence.ManifestName)
	if !ok {
		return nil, fmt.Errorf("the lock of %s has no %s", digest, evidence.ManifestName)
	}
	mdata, err := evidenceBlob(l, evidence.ManifestName, lockedDigest(mf))
	if err != nil {
		return nil, err
	}
	m, err := evidence.ParseManifest(mdata)
	if err != nil {
		return nil, err
	}
	return &sealedBundle{lock, m, data, mdata}, nil
}

// evidenceBlob reads the blob d, the bundle's file what, saying what is
// missing if l lacks it ([ErrNoEvidence]).
func evidenceBlob(l *ledger.Ledger, what, d string) ([]byte, error) {
	data, err := l.Blob(d)
	if errors.Is(err, ledger.ErrNoBlob) {
		return nil, fmt.Errorf("%w: %s (%s) is missing; import the requester's ledger, or verify the bundle directory itself", ErrNoEvidence, what, d)
	}
	return data, err
}

// Reports keeps bundles' evaluated evidence (Bundle.Evaluate: metrics,
// the bootstrap intervals, fairness), most of what judging a bundle
// costs. It is a pure function of the bundle's bytes, which its digest
// names, so what is kept is never stale. The zero value is ready; it is
// safe for concurrent use and keeps the last maxReports bundles.
type Reports struct {
	mu    sync.Mutex
	m     map[string]*evidence.Report
	order []string
}

const maxReports = 64

// cached returns the evaluated evidence of the bundle digest names, or
// nil if c does not hold it (or c is nil, which holds nothing).
func (c *Reports) cached(digest string) *evidence.Report {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[digest]
}

// Evaluate returns b's evaluated evidence, b being the bundle digest
// names, and keeps it (a nil c keeps nothing).
func (c *Reports) Evaluate(b *evidence.Bundle, digest string) (*evidence.Report, error) {
	if r := c.cached(digest); r != nil {
		return r, nil
	}
	r, err := b.Evaluate()
	if err != nil || c == nil {
		return r, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*evidence.Report{}
	}
	if _, ok := c.m[digest]; !ok {
		if len(c.order) == maxReports {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.m[digest] = r
		c.order = append(c.order, digest)
	}
	return r, nil
}
