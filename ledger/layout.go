package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// Key layout. Every key starts with one byte naming its index; feeds, ids
// and numbers are fixed-width binary so that byte order is the order the
// reads want.
const (
	pEntry      = 'f' // feed(32) seq(8) id(32) -> stored entry
	pID         = 'e' // id(32) -> feed(32) seq(8)
	pArrival    = 'a' // arrival(8) -> feed(32) seq(8) id(32) unixnano(8) kind 0 subjects 0
	pTime       = 't' // unixnano(8) id(32) -> nothing
	pKey        = 'k' // feed(32) -> ed25519 key blob
	pIdentity   = 'i' // feed(32) identity -> nothing
	pFork       = 'x' // feed(32) seq(8) -> nothing: equivocation seen
	pCheckpoint = 'c' // unixnano(8) -> signed checkpoint
	pMeta       = 'm' // name -> value
	pKind       = 'n' // kind 0 unixnano(8) id(32) -> nothing
	pSubject    = 's' // subject 0 unixnano(8) id(32) -> nothing
	pBlob       = 'b' // sha256(32) -> blob
	pBlobStaged = 'B' // sha256(32) -> nothing: a blob an unfinished import wrote
)

// committedKey holds the number of entries committed: arrivals above it
// belong to an import that did not finish and are rolled back on Open.
var committedKey = []byte{pMeta, 'a', 'r', 'r', 'i', 'v', 'a', 'l', 's'}

func entryKey(f Feed, seq uint64, id ID) []byte {
	k := make([]byte, 0, 1+32+8+32)
	k = append(k, pEntry)
	k = append(k, f[:]...)
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, id[:]...)
}

func seqPrefix(f Feed, seq uint64) []byte {
	k := make([]byte, 0, 1+32+8)
	k = append(k, pEntry)
	k = append(k, f[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func feedPrefix(f Feed) []byte { return append([]byte{pEntry}, f[:]...) }

func splitEntryKey(k []byte) (f Feed, seq uint64, id ID) {
	copy(f[:], k[1:33])
	seq = binary.BigEndian.Uint64(k[33:41])
	copy(id[:], k[41:73])
	return
}

func idKey(id ID) []byte { return append([]byte{pID}, id[:]...) }

func u64Key(p byte, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, n) }

// indexKey is the key of an entry in the kind or subject index.
func indexKey(p byte, name string, unixNano uint64, id ID) []byte {
	k := make([]byte, 0, 1+len(name)+1+8+32)
	k = append(append(append(k, p), name...), 0)
	k = binary.BigEndian.AppendUint64(k, unixNano)
	return append(k, id[:]...)
}

// arrivalValue is what an arrival key holds: the entry's feed, seq, id
// and signing time, enough to name every key [putEntry] writes.
func arrivalValue(e *Entry) []byte {
	v := make([]byte, 0, 80+2+len(e.Kind)+len(e.Subject))
	v = append(v, e.Feed[:]...)
	v = binary.BigEndian.AppendUint64(v, e.Seq)
	v = append(v, e.ID[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(e.Time.UnixNano()))
	return append(append(append(append(v, e.Kind...), 0), e.Subject...), 0)
}

// stagedKeys returns the keys other than the arrival key that putEntry
// wrote for the entry an arrival value names.
func stagedKeys(v []byte) ([][]byte, error) {
	if len(v) < 82 || v[len(v)-1] != 0 {
		return nil, errors.New("arrival index is corrupt")
	}
	feed, seq, id := Feed(v[:32]), binary.BigEndian.Uint64(v[32:40]), ID(v[40:72])
	t := binary.BigEndian.Uint64(v[72:80])
	kind, subject, ok := bytes.Cut(v[80:len(v)-1], []byte{0})
	if !ok {
		return nil, errors.New("arrival index is corrupt")
	}
	keys := [][]byte{entryKey(feed, seq, id), idKey(id), append(u64Key(pTime, t), id[:]...), indexKey(pKind, string(kind), t, id)}
	if len(subject) > 0 {
		for _, s := range strings.Split(string(subject), ",") {
			keys = append(keys, indexKey(pSubject, s, t, id))
		}
	}
	return keys, nil
}

func timeKey(e *Entry) []byte {
	return append(u64Key(pTime, uint64(e.Time.UnixNano())), e.ID[:]...)
}

func forkMarker(feed Feed, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{pFork}, feed[:]...), seq)
}
