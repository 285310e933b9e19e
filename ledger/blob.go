package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/signoff-dev/signoff/inert"
)

// MaxBlob bounds one blob: an evidence file carried in the ledger.
const MaxBlob = 32 << 20

// maxBlobLine bounds the export line of a blob.
const maxBlobLine = len(blobHead) + (MaxBlob+2)/3*4 + len(blobTail)

const blobHead, blobTail = `{"blob":"`, `"}`

// ErrNoBlob is returned for a blob the ledger does not hold.
var ErrNoBlob = errors.New("no such blob")

// BlobDigest returns the name of a blob: "sha256:" and the hex SHA-256 of
// its bytes.
func BlobDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobKey(digest string) ([]byte, error) {
	h, ok := cutPrefix(digest, "sha256:")
	if !ok || len(h) != 64 || !isLowerHex(h) {
		return nil, fmt.Errorf("%q is not a blob digest (sha256: and 64 hex digits)", inert.Cut(digest, 80))
	}
	k := make([]byte, 33)
	k[0] = pBlob
	hex.Decode(k[1:], []byte(h))
	return k, nil
}

// PutBlob stores data durably under its digest, which it returns. Blobs
// are content-addressed: storing one twice stores it once.
func (l *Ledger) PutBlob(data []byte) (string, error) {
	if err := l.writable(); err != nil {
		return "", err
	}
	if len(data) > MaxBlob {
		return "", fmt.Errorf("blob is %d bytes, more than %d", len(data), MaxBlob)
	}
	digest := BlobDigest(data)
	k, _ := blobKey(digest)
	l.mu.Lock() // not while an import may roll back what it staged
	defer l.mu.Unlock()
	err := l.db.Update(func(txn *badger.Txn) error {
		if ok, err := exists(txn, k); err != nil || ok {
			return err
		}
		return txn.Set(k, data)
	})
	if err != nil {
		return "", fmt.Errorf("failed to store blob: %w", err)
	}
	return digest, nil
}

// Blob returns the blob named digest, checking that its bytes still have
// that digest. A blob the ledger lacks gives an error wrapping
// [ErrNoBlob]; one whose bytes changed, [ErrTampered].
func (l *Ledger) Blob(digest string) ([]byte, error) {
	k, err := blobKey(digest)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%s: %w", digest, ErrNoBlob)
		} else if err != nil {
			return err
		}
		data, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if BlobDigest(data) != digest {
		return nil, fmt.Errorf("blob %s: stored bytes have another digest: %w", digest, ErrTampered)
	}
	return data, nil
}

// HasBlob reports whether the ledger holds the blob named digest.
func (l *Ledger) HasBlob(digest string) bool {
	k, err := blobKey(digest)
	if err != nil {
		return false
	}
	ok := false
	l.db.View(func(txn *badger.Txn) error {
		ok, _ = exists(txn, k)
		return nil
	})
	return ok
}

// marshalBlobLine is the export line of a blob, without the newline.
func marshalBlobLine(data []byte) []byte {
	b := make([]byte, 0, len(blobHead)+base64.StdEncoding.EncodedLen(len(data))+len(blobTail))
	b = append(b, blobHead...)
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, blobTail...)
}

// parseBlobLine decodes a blob line; ok is false if line is not one.
func parseBlobLine(line []byte) (data []byte, ok bool, err error) {
	if !bytes.HasPrefix(line, []byte(blobHead)) {
		return nil, false, nil
	}
	if len(line) > maxBlobLine {
		return nil, true, fmt.Errorf("blob line is %d bytes, more than %d", len(line), maxBlobLine)
	}
	if !bytes.HasSuffix(line, []byte(blobTail)) || len(line) < len(blobHead)+len(blobTail) {
		return nil, true, errors.New(`a blob line is {"blob":"BASE64"}`)
	}
	b64 := line[len(blobHead) : len(line)-len(blobTail)]
	if bytes.IndexByte(b64, '\r') >= 0 || bytes.IndexByte(b64, '\n') >= 0 {
		return nil, true, errors.New("blob is not base64")
	}
	data, err = base64.StdEncoding.AppendDecode(nil, b64)
	if err != nil {
		return nil, true, fmt.Errorf("blob is not base64: %v", err)
	}
	if len(data) > MaxBlob {
		return nil, true, fmt.Errorf("blob is %d bytes, more than %d", len(data), MaxBlob)
	}
	return data, true, nil
}

// BlobDigests calls fn with the digest of every blob the ledger holds, in
// digest order.
func (l *Ledger) BlobDigests(fn func(digest string) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		return each(txn, []byte{pBlob}, func(item *badger.Item) error {
			return fn("sha256:" + hex.EncodeToString(item.Key()[1:]))
		})
	})
}

// BlobLine returns the export line of a blob, without the newline, as
// Export writes it and Import reads it.
func BlobLine(data []byte) []byte { return marshalBlobLine(data) }

// ParseBlobLine decodes an export line holding a blob; ok is false if the
// line is not one.
func ParseBlobLine(line []byte) (data []byte, ok bool, err error) { return parseBlobLine(line) }
