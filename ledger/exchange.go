package ledger

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Export writes every entry as JSON Lines, one envelope per line, feed by
// feed in seq order, the entries of a fork side by side. The output is the
// same for two ledgers holding the same entries, and [Ledger.Import] reads
// it back whatever order the entries arrived in. It returns the number of
// entries written.
func (l *Ledger) Export(w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	n := 0
	err := l.db.View(func(txn *badger.Txn) error {
		err := each(txn, []byte{pEntry}, func(item *badger.Item) error {
			e, err := readEntry(item)
			if err != nil {
				return err
			}
			bw.Write(e.MarshalLine())
			n++
			return bw.WriteByte('\n')
		})
		if err != nil {
			return err
		}
		// Blobs follow the entries, in digest order.
		return each(txn, []byte{pBlob}, func(item *badger.Item) error {
			return item.Value(func(data []byte) error {
				bw.Write(marshalBlobLine(data))
				return bw.WriteByte('\n')
			})
		})
	})
	if err != nil {
		return n, fmt.Errorf("failed to export: %w", err)
	}
	return n, bw.Flush()
}

// ImportResult says what an import did.
type ImportResult struct {
	Lines         int // envelopes read
	Added         int // new entries stored
	Blobs         int // blobs read
	Present       int // entries the ledger already had
	Equivocations []Equivocation
}

// ImportError lists the bad lines of a rejected import file.
type ImportError struct {
	Problems []*EntryError // the first maxImportProblems, in line order
	Total    int
}

const maxImportProblems = 1000

func (e *ImportError) Error() string {
	s := fmt.Sprintf("%d invalid entries; nothing imported", e.Total)
	if len(e.Problems) > 0 {
		s += "; first: " + e.Problems[0].Error()
	}
	return s
}

func (e *ImportError) Unwrap() error { return ErrTampered }

// ImportOptions control [Ledger.Import].
type ImportOptions struct {
	// Progress, if set, is called from time to time with the number of
	// envelopes checked so far.
	Progress func(done int)
	// Verified says the caller has verified every entry's signature in
	// these exact bytes, in this process (with [VerifyEntries]): Import
	// then checks each entry's place in its feed, not its signature
	// again. Bytes from anywhere else must never be imported with it.
	Verified bool
}

// Import reads JSON Lines envelopes from r and adds the entries the ledger
// does not have. Every line is checked: its signature (unless
// [ImportOptions.Verified] says the caller checked it), its place in its
// feed (a feed's entries come in seq order) and its prev link to an entry
// in the file or the ledger. If any line is bad, nothing is added and the
// error is an [*ImportError] naming the bad lines. A second entry with the
// same feed and seq as another is kept as evidence of equivocation.
//
// To read r once and keep storing in step with checking, new entries are
// staged in the store as they are checked, above the committed entry
// count; one synced write commits them all at the end. A failed import
// removes what it staged, and so does the next [Open] after a crash. The
// import is durable when Import returns.
func (l *Ledger) Import(r io.Reader, opts ImportOptions) (*ImportResult, error) {
	if err := l.writable(); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(int) {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	base := l.arrivals
	wb := l.db.NewWriteBatch()
	im := &importer{l: l, wb: wb, arrival: base, progress: progress, verified: opts.Verified,
		feeds: make(map[Feed]*importFeed), inFile: make(map[ID]bool)}
	res, err := im.run(r)
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err == nil && (im.arrival > base || len(im.blobs) > 0) {
		err = im.commit()
	}
	if err != nil {
		if im.arrival > base || len(im.blobs) > 0 {
			if rerr := l.rollback(base); rerr != nil {
				return nil, fmt.Errorf("%w; and failed to remove the entries staged: %v (reopen the ledger to retry)", err, rerr)
			}
		}
		return nil, err
	}
	res.Added = int(im.arrival - base)
	l.arrivals = im.arrival
	return res, nil
}

// importer is the state of one import.
type importer struct {
	l        *Ledger
	wb       *badger.WriteBatch
	verified bool   // the caller verified every signature
	arrival  uint64 // last arrival number staged
	progress func(int)

	feeds  map[Feed]*importFeed
	inFile map[ID]bool // new entries staged from this file
	forks  [][]byte    // fork markers to commit
	blobs  [][]byte    // markers of the blobs staged, removed on commit
}

// importFeed is what the import knows of one feed in the file.
type importFeed struct {
	chainFeed         // the entries of the file at its highest seq, and the seq before
	stored     uint64 // highest seq the ledger holds
	keyBlob    []byte // the feed's key, once a new entry was staged
	identities []string
}

type sigJob struct {
	line int
	e    *Entry
}

// run checks every line, staging the new entries, and returns the result
// or an [*ImportError].
func (im *importer) run(r io.Reader) (*ImportResult, error) {
	res := &ImportResult{}
	var mu sync.Mutex
	var problems []*EntryError
	total := 0
	addProblem := func(p *EntryError) {
		mu.Lock()
		defer mu.Unlock()
		total++
		if len(problems) < maxImportProblems {
			problems = append(problems, p)
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return total > 0
	}

	jobs := make(chan []sigJob, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys keyCache
			for batch := range jobs {
				for _, j := range batch {
					if err := keys.verify(j.e.Feed, j.e.Payload, j.e.Signature); err != nil {
						addProblem(&EntryError{Line: j.line, Feed: j.e.Feed, Seq: j.e.Seq, ID: j.e.ID, Err: err})
					}
				}
			}
		}()
	}
	batch := make([]sigJob, 0, 128)
	queue := func(j sigJob) {
		batch = append(batch, j)
		if len(batch) == cap(batch) {
			jobs <- batch
			batch = make([]sigJob, 0, 128)
		}
	}

	scan := bufio.NewScanner(r)
	scan.Buffer(make([]byte, 64<<10), maxBlobLine+2) // and a CR
	line := 0
	err := im.l.db.View(func(txn *badger.Txn) error {
		for scan.Scan() {
			line++
			raw := bytes.TrimSpace(scan.Bytes())
			if len(raw) == 0 {
				continue
			}
			res.Lines++
			if res.Lines%4096 == 0 {
				im.progress(res.Lines)
			}
			if data, ok, err := parseBlobLine(raw); ok {
				// A blob is named by its digest, so it needs no other check.
				if err != nil {
					addProblem(&EntryError{Line: line, Err: err})
					continue
				}
				res.Blobs++
				k, _ := blobKey(BlobDigest(data))
				if ok, err := exists(txn, k); err != nil {
					return err
				} else if !ok && !failed() {
					// The marker goes first: a rollback finds the blob by it.
					marker := append([]byte{pBlobStaged}, k[1:]...)
					if err := im.wb.Set(marker, nil); err != nil {
						return err
					}
					if err := im.wb.Set(k, data); err != nil {
						return err
					}
					im.blobs = append(im.blobs, marker)
				}
				continue
			}
			e, err := ParseLine(raw)
			if err != nil {
				addProblem(&EntryError{Line: line, Err: err})
				continue
			}
			p, err := im.place(txn, e, res)
			if err != nil {
				var ee *EntryError
				if errors.As(err, &ee) {
					ee.Line = line
					addProblem(ee)
					continue
				}
				return err
			}
			if p.check && !im.verified {
				queue(sigJob{line, e})
			}
			if !p.stage || failed() {
				continue // known, or the import fails: stage nothing more
			}
			if p.fork {
				im.forks = append(im.forks, forkMarker(e.Feed, e.Seq))
			}
			im.arrival++
			if err := putEntry(im.wb.Set, e, im.arrival); err != nil {
				return err
			}
		}
		return nil
	})
	if len(batch) > 0 {
		jobs <- batch
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("failed to import: %w", err)
	}
	if err := scan.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("longer than %d bytes", maxBlobLine)
		}
		addProblem(&EntryError{Line: line + 1, Err: err})
	}
	if total > 0 {
		slices.SortStableFunc(problems, func(a, b *EntryError) int { return a.Line - b.Line })
		return nil, &ImportError{Problems: problems, Total: total}
	}
	im.progress(res.Lines)
	return res, nil
}

// placement says what to do with one line of an import.
type placement struct {
	check bool // check its signature
	stage bool // a new entry: store it
	fork  bool // it forks its feed
}

// place checks e's place in its feed against the file so far and the
// ledger, under the chain rules a [ChainCheck] applies. What is wrong with
// e comes back as an [*EntryError].
func (im *importer) place(txn *badger.Txn, e *Entry, res *ImportResult) (placement, error) {
	fail := func(err error) (placement, error) {
		return placement{}, &EntryError{Feed: e.Feed, Seq: e.Seq, ID: e.ID, Err: err}
	}
	st := im.feeds[e.Feed]
	if st == nil {
		stored, _ := feedHead(txn, e.Feed)
		st = &importFeed{stored: stored}
		im.feeds[e.Feed] = st
	}
	if err := st.order(e); err != nil {
		return fail(err)
	}
	// The file is at e's seq now, even if e is refused: st.cur holds the
	// file's other entries at e's seq, and the lines after e are checked
	// against it.
	st.advance(e.Seq)
	// An id hashes its feed and seq, so beyond the feed's stored head the
	// ledger cannot hold it, nor anything at its seq or its prev's.
	var stored *Entry
	if e.Seq <= st.stored {
		var err error
		if stored, err = getEntry(txn, e.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return placement{}, err
		}
	}
	if stored != nil || im.inFile[e.ID] {
		// Known: a byte-identical stored copy was checked when it was
		// stored; any other copy has its signature checked.
		st.take(e.ID, e.Seq, e.Time)
		res.Present++
		return placement{check: stored == nil || !bytes.Equal(stored.Signature, e.Signature)}, nil
	}
	err := st.link(e, "file", func(e *Entry) (time.Time, bool, error) {
		if e.Seq-1 > st.stored {
			return time.Time{}, false, nil
		}
		return storedPrev(txn, e)
	})
	var ce *chainError
	if errors.As(err, &ce) {
		return fail(err)
	} else if err != nil {
		return placement{}, err
	}
	var others []ID
	if e.Seq <= st.stored {
		others = idsAt(txn, e.Feed, e.Seq)
	}
	for _, c := range st.cur {
		if !slices.Contains(others, c.id) {
			others = append(others, c.id)
		}
	}
	fork := len(others) > 0
	if fork {
		res.Equivocations = append(res.Equivocations, Equivocation{Feed: e.Feed, Seq: e.Seq, IDs: append(others, e.ID)})
	}
	st.take(e.ID, e.Seq, e.Time)
	im.inFile[e.ID] = true
	if st.keyBlob == nil {
		var err error
		if st.keyBlob, err = e.PublicKey(); err != nil {
			return fail(err)
		}
	}
	if e.Identity != "" && !slices.Contains(st.identities, e.Identity) {
		st.identities = append(st.identities, e.Identity)
	}
	return placement{check: true, stage: true, fork: fork}, nil
}

// commit records the signers and forks of the staged entries and the new
// committed count, in one synced write.
func (im *importer) commit() error {
	return im.l.db.Update(func(txn *badger.Txn) error {
		for feed, st := range im.feeds {
			if st.keyBlob == nil {
				continue
			}
			if err := putSigner(txn.Set, feed, st.keyBlob, ""); err != nil {
				return err
			}
			for _, id := range st.identities {
				if err := putSigner(txn.Set, feed, st.keyBlob, id); err != nil {
					return err
				}
			}
		}
		for _, k := range im.forks {
			if err := txn.Set(k, nil); err != nil {
				return err
			}
		}
		for _, k := range im.blobs {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return txn.Set(committedKey, binary.BigEndian.AppendUint64(nil, im.arrival))
	})
}
