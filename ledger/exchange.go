package ledger

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

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
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pEntry}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			e, err := readEntry(it.Item())
			if err != nil {
				return err
			}
			bw.Write(e.MarshalLine())
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
			n++
		}
		return nil
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
	// Progress, if set, is called from time to time with the envelopes
	// checked so far and, in the second phase, stored so far.
	Progress func(phase string, done int)
}

// Import reads JSON Lines envelopes from r and adds the entries the ledger
// does not have. Every line is checked first: its signature, its place in
// its feed (a feed's entries come in seq order) and its prev link to an
// entry in the file or the ledger. If any line is bad, nothing is stored and
// the error is an [*ImportError] naming the bad lines. A second entry with
// the same feed and seq as another is kept as evidence of equivocation.
//
// The checked entries are spooled to a private file in the ledger
// directory and stored from there, so r is read once and need not be
// seekable. The import is durable when Import returns.
func (l *Ledger) Import(r io.Reader, opts ImportOptions) (*ImportResult, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int) {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	spool, err := os.CreateTemp(l.dir, "import-*.spool")
	if err != nil {
		return nil, fmt.Errorf("failed to create import spool: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	res, added, err := l.checkImport(r, spool, progress)
	if err != nil {
		return nil, err
	}
	if added == 0 {
		return res, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := l.applySpool(bufio.NewReaderSize(spool, 256<<10), added, progress); err != nil {
		return nil, err
	}
	res.Added = added
	return res, nil
}

// importFeed is what the check pass knows of one feed in the file.
type importFeed struct {
	seq  uint64 // highest seq seen in the file
	cur  []ID   // ids at seq
	prev []ID   // ids at seq-1
}

type sigJob struct {
	line int
	e    *Entry
}

// checkImport is the first pass: it parses and checks every line and
// spools the new entries. It returns the number spooled.
func (l *Ledger) checkImport(r io.Reader, spool io.Writer, progress func(string, int)) (*ImportResult, int, error) {
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

	jobs := make(chan []sigJob, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range jobs {
				for _, j := range batch {
					if err := j.e.Verify(); err != nil {
						addProblem(&EntryError{Line: j.line, Feed: j.e.Feed, Seq: j.e.Seq, ID: j.e.ID, Err: err})
					}
				}
			}
		}()
	}

	sw := bufio.NewWriterSize(spool, 256<<10)
	feeds := make(map[Feed]*importFeed)
	inFile := make(map[ID]bool) // new entries seen in this file
	added := 0
	scan := bufio.NewScanner(r)
	scan.Buffer(make([]byte, 64<<10), maxLine+1)
	batch := make([]sigJob, 0, 128)
	queue := func(j sigJob) {
		batch = append(batch, j)
		if len(batch) == cap(batch) {
			jobs <- batch
			batch = make([]sigJob, 0, 128)
		}
	}
	line := 0
	err := l.db.View(func(txn *badger.Txn) error {
		for scan.Scan() {
			line++
			raw := bytes.TrimSpace(scan.Bytes())
			if len(raw) == 0 {
				continue
			}
			res.Lines++
			if res.Lines%4096 == 0 {
				progress("checked", res.Lines)
			}
			e, err := ParseLine(raw)
			if err != nil {
				addProblem(&EntryError{Line: line, Err: err})
				continue
			}
			fail := func(err error) { addProblem(&EntryError{Line: line, Feed: e.Feed, Seq: e.Seq, ID: e.ID, Err: err}) }
			st := feeds[e.Feed]
			if st == nil {
				st = &importFeed{}
				feeds[e.Feed] = st
			}
			if e.Seq < st.seq {
				fail(fmt.Errorf("seq %d comes after seq %d of the same feed: a feed's entries must be in seq order", e.Seq, st.seq))
				continue
			}
			if e.Seq > st.seq {
				st.prev = nil
				if e.Seq == st.seq+1 {
					st.prev = st.cur
				}
				st.cur, st.seq = nil, e.Seq
			}
			stored, err := getEntry(txn, e.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if stored != nil || inFile[e.ID] {
				// Known: a byte-identical copy was checked when it was
				// stored; any other copy has its signature checked.
				res.Present++
				if !slices.Contains(st.cur, e.ID) {
					st.cur = append(st.cur, e.ID)
				}
				if stored == nil || !bytes.Equal(stored.Signature, e.Signature) {
					queue(sigJob{line, e})
				}
				continue
			}
			if e.Seq > 1 && !slices.Contains(st.prev, e.Prev) {
				ok, err := exists(txn, entryKey(e.Feed, e.Seq-1, e.Prev))
				if err != nil {
					return err
				}
				if !ok {
					fail(fmt.Errorf("prev %s is neither in this file nor in the ledger: seq %d of this feed is missing", e.Prev, e.Seq-1))
					continue
				}
			}
			others := idsAt(txn, e.Feed, e.Seq)
			for _, id := range st.cur {
				if !slices.Contains(others, id) {
					others = append(others, id)
				}
			}
			fork := len(others) > 0
			if fork {
				res.Equivocations = append(res.Equivocations, Equivocation{Feed: e.Feed, Seq: e.Seq, IDs: append(others, e.ID)})
			}
			st.cur = append(st.cur, e.ID)
			inFile[e.ID] = true
			added++
			writeSpool(sw, e, fork)
			queue(sigJob{line, e})
		}
		return nil
	})
	if len(batch) > 0 {
		jobs <- batch
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read ledger: %w", err)
	}
	if err := scan.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("longer than %d bytes", maxLine)
		}
		addProblem(&EntryError{Line: line + 1, Err: err})
	}
	if total > 0 {
		slices.SortStableFunc(problems, func(a, b *EntryError) int { return a.Line - b.Line })
		return nil, 0, &ImportError{Problems: problems, Total: total}
	}
	if err := sw.Flush(); err != nil {
		return nil, 0, fmt.Errorf("failed to write import spool: %w", err)
	}
	progress("checked", res.Lines)
	return res, added, nil
}

func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func hasPrefix(txn *badger.Txn, prefix []byte) (bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid(), nil
}

// idsAt returns the ids stored at feed and seq.
func idsAt(txn *badger.Txn, feed Feed, seq uint64) []ID {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: seqPrefix(feed, seq)})
	defer it.Close()
	var ids []ID
	for it.Rewind(); it.Valid(); it.Next() {
		_, _, id := splitEntryKey(it.Item().Key())
		ids = append(ids, id)
	}
	return ids
}

// A spool record: flags (1 = fork), the stored value's length, the value.
func writeSpool(w *bufio.Writer, e *Entry, fork bool) {
	flags := byte(0)
	if fork {
		flags = 1
	}
	v := encodeValue(e)
	w.WriteByte(flags)
	w.Write(binary.AppendUvarint(nil, uint64(len(v))))
	w.Write(v)
}

// applySpool is the second pass: it stores the n spooled entries in one
// write batch and syncs.
func (l *Ledger) applySpool(r *bufio.Reader, n int, progress func(string, int)) error {
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	arrival := l.arrivals
	for i := range n {
		flags, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("import spool is truncated: %w", err)
		}
		size, err := binary.ReadUvarint(r)
		if err != nil || size > maxLine {
			return fmt.Errorf("import spool is corrupt")
		}
		v := make([]byte, size)
		if _, err := io.ReadFull(r, v); err != nil {
			return fmt.Errorf("import spool is truncated: %w", err)
		}
		payload, sig, err := decodeValue(v)
		if err != nil {
			return err
		}
		e, err := ParseEntry(payload, sig)
		if err != nil {
			return err
		}
		keyBlob, err := e.PublicKey()
		if err != nil {
			return err
		}
		arrival++
		if err := l.put(wb.Set, e, keyBlob, arrival, flags&1 != 0); err != nil {
			return fmt.Errorf("failed to store entry: %w", err)
		}
		if (i+1)%4096 == 0 {
			progress("stored", i+1)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("failed to store entries: %w", err)
	}
	if err := l.db.Sync(); err != nil {
		return fmt.Errorf("failed to sync ledger: %w", err)
	}
	l.arrivals = arrival
	progress("stored", n)
	return nil
}
