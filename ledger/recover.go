package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// arrivalCounts is what the store says of the entries that arrived: the
// highest arrival number, the committed count (which a ledger from before
// it was kept lacks) and whether an import left blobs staged.
type arrivalCounts struct {
	last, committed uint64
	haveCommitted   bool
	stagedBlobs     bool
}

func (l *Ledger) arrivalState() (arrivalCounts, error) {
	var as arrivalCounts
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{pArrival}})
		defer it.Close()
		it.Seek(u64Key(pArrival, ^uint64(0)))
		if it.Valid() {
			as.last = binary.BigEndian.Uint64(it.Item().Key()[1:])
		}
		as.stagedBlobs = hasPrefix(txn, []byte{pBlobStaged})
		item, err := txn.Get(committedKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return errors.New("committed entry count is corrupt")
			}
			as.committed, as.haveCommitted = binary.BigEndian.Uint64(v), true
			return nil
		})
	})
	return as, err
}

// needsRecovery says what [Ledger.recoverImport] has to do, or "" if nothing.
func (as arrivalCounts) needsRecovery() string {
	switch {
	case !as.haveCommitted:
		return "it was written before signoff kept its committed entry count"
	case as.last > as.committed:
		return fmt.Sprintf("an import was cut off after staging %d entries", as.last-as.committed)
	case as.stagedBlobs:
		return "an import was cut off after staging blobs"
	}
	return ""
}

// recoverImport sets l.arrivals to the committed count, recording it if
// the ledger has none yet, and removes what an import that was cut off had
// staged beyond it.
func (l *Ledger) recoverImport() error {
	as, err := l.arrivalState()
	if err != nil {
		return err
	}
	if !as.haveCommitted {
		// A ledger from before the count was kept: everything in it was
		// committed. Record that, so that an import cut off from now on
		// is told from committed entries.
		as.committed = as.last
		err := l.db.Update(func(txn *badger.Txn) error {
			return txn.Set(committedKey, binary.BigEndian.AppendUint64(nil, as.committed))
		})
		if err != nil {
			return err
		}
		as.haveCommitted = true
	}
	l.arrivals = as.committed
	if as.needsRecovery() != "" {
		return l.rollback(as.committed)
	}
	return nil
}

// rollback removes the entries that arrived after the first committed
// ones, and the blobs marked staged: what an import that failed or was cut
// off wrote.
// Committed entries are never touched. Each arrival key holds everything
// needed to name its entry's other keys and is written before them, so an
// entry staged only in part is removed too; the arrival keys go last, so a
// rollback cut off is finished by the next one.
func (l *Ledger) rollback(committed uint64) error {
	var staged, arrivals [][]byte
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pArrival}, PrefetchValues: true})
		defer it.Close()
		for it.Seek(u64Key(pArrival, committed+1)); it.Valid(); it.Next() {
			arrivals = append(arrivals, it.Item().KeyCopy(nil))
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			keys, err := stagedKeys(v)
			if err != nil {
				return err
			}
			staged = append(staged, keys...)
		}
		bt := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pBlobStaged}})
		defer bt.Close()
		for bt.Rewind(); bt.Valid(); bt.Next() {
			marker := bt.Item().KeyCopy(nil)
			staged = append(staged, append([]byte{pBlob}, marker[1:]...))
			arrivals = append(arrivals, marker)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, keys := range [][][]byte{staged, arrivals} {
		wb := l.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		if err := l.db.Sync(); err != nil {
			return err
		}
	}
	return nil
}
