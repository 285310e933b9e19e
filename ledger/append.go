package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Append signs a new entry of kind with body (a JSON object) as the
// next entry of s's feed and stores it durably: when Append returns without
// error the entry has been fsynced.
func (l *Ledger) Append(s Signer, kind string, body []byte, now time.Time) (*Entry, error) {
	return l.AppendSubject(s, kind, "", body, now)
}

// AppendSubject is [Ledger.Append] for an entry about subject: one or, separated
// by commas, up to [MaxSubjects] (see [CheckSubject]), by each of which a
// [Query] finds it.
func (l *Ledger) AppendSubject(s Signer, kind, subject string, body []byte, now time.Time) (*Entry, error) {
	if err := l.writable(); err != nil {
		return nil, err
	}
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		return nil, err
	}
	keyBlob := ed25519KeyBlob(pub)
	feed := FeedOf(keyBlob)

	l.mu.Lock()
	defer l.mu.Unlock()
	var head uint64
	var heads []ID
	var prevTime time.Time
	forked := false
	err = l.db.View(func(txn *badger.Txn) error {
		head, heads = feedHead(txn, feed)
		forked = len(heads) > 1 || hasPrefix(txn, append([]byte{pFork}, feed[:]...))
		if len(heads) == 1 {
			prev, err := getEntry(txn, heads[0])
			if err != nil {
				return err
			}
			prevTime = prev.Time
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if forked {
		return nil, &EntryError{Feed: feed, Err: fmt.Errorf("%w: your own feed is forked (the same key signed different entries elsewhere); refusing to extend it: the key may be copied or stolen, so make a new one", ErrEquivocation)}
	}
	h := Header{Kind: kind, Seq: head + 1, Time: now, Subject: subject, Body: body}
	if len(heads) == 1 {
		h.Prev = heads[0]
		// A feed's signing times never go back; a clock that did is held
		// at the last entry's time.
		if now.Before(prevTime) {
			h.Time = prevTime
		}
	}
	e, err := SignEntry(s, h)
	if err != nil {
		return nil, err
	}
	err = l.db.Update(func(txn *badger.Txn) error {
		if err := putEntry(txn.Set, e, l.arrivals+1); err != nil {
			return err
		}
		if err := putSigner(txn.Set, feed, keyBlob, e.Identity); err != nil {
			return err
		}
		return txn.Set(committedKey, binary.BigEndian.AppendUint64(nil, l.arrivals+1))
	})
	if err != nil {
		return nil, fmt.Errorf("failed to store entry: %w", err)
	}
	l.arrivals++
	return e, nil
}

// SignEntry signs an entry with the header h, without storing it: the
// feed and identity are s's, the body is compacted, and the result is
// checked as a reader would check it. [Ledger.Append] chooses seq and
// prev itself; SignEntry is for entries built elsewhere, such as a feed
// written for another ledger to import.
func SignEntry(s Signer, h Header) (*Entry, error) {
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		return nil, err
	}
	h.Feed, h.Identity = FeedOf(ed25519KeyBlob(pub)), s.Identity()
	payload, err := Payload(h)
	if err != nil {
		return nil, err
	}
	sig, err := signSSHSIG(s, Namespace, payload)
	if err != nil {
		return nil, err
	}
	e, err := ParseEntry(payload, sig)
	if err != nil {
		return nil, fmt.Errorf("internal error: wrote an unreadable entry: %w", err)
	}
	if err := e.Verify(); err != nil {
		return nil, fmt.Errorf("the signer's signature does not verify: %w", err)
	}
	return e, nil
}

// Payload returns the exact bytes an entry with header h signs: what
// stock ssh-keygen -Y sign (namespace [Namespace]) signs to make an entry
// with no signoff at all, and [ParseEntry] reads back with the signature.
// h.Feed must be the signing key's fingerprint; the body is compacted.
func Payload(h Header) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, h.Body); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	h.Time, h.Body = h.Time.UTC(), compact.Bytes()
	if err := checkHeader(&h); err != nil {
		return nil, err
	}
	payload := appendPayload(nil, &h)
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("entry is %d bytes, more than %d", len(payload), MaxPayload)
	}
	return payload, nil
}

// putEntry writes e, the arrival-th entry stored, and its index keys. The
// arrival key comes first: a write batch may commit an entry's keys in
// more than one transaction, and [Ledger.rollback] finds the others
// through it.
func putEntry(set func(k, v []byte) error, e *Entry, arrival uint64) error {
	av := arrivalValue(e)
	t := uint64(e.Time.UnixNano())
	writes := [...][2][]byte{
		{u64Key(pArrival, arrival), av},
		{entryKey(e.Feed, e.Seq, e.ID), encodeValue(e)},
		{idKey(e.ID), av[:40]},
		{timeKey(e), nil},
		{indexKey(pKind, e.Kind, t, e.ID), nil},
	}
	for _, w := range writes {
		if err := set(w[0], w[1]); err != nil {
			return err
		}
	}
	for _, s := range e.Subjects() {
		if err := set(indexKey(pSubject, s, t, e.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// putSigner records a feed's key and an identity its entries claim.
func putSigner(set func(k, v []byte) error, feed Feed, keyBlob []byte, identity string) error {
	if err := set(append([]byte{pKey}, feed[:]...), keyBlob); err != nil {
		return err
	}
	if identity == "" {
		return nil
	}
	return set(append(append([]byte{pIdentity}, feed[:]...), identity...), nil)
}
