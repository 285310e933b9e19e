package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The subject tests check the optional "subject" field of a payload, the
// subject and kind indexes Entries and Subjects read, that the indexes
// travel through an export and are rolled back with a failed import, and
// Forks.

// sjQuery returns the ids Entries gives for q, in its order.
func sjQuery(t testing.TB, l *Ledger, q Query) []ID {
	t.Helper()
	var ids []ID
	if err := l.Entries(q, func(e *Entry) error { ids = append(ids, e.ID); return nil }); err != nil {
		t.Fatalf("Entries(%+v): %v", q, err)
	}
	return ids
}

// sjWant returns the ids of the entries of es that q selects (by subject
// and kind), in the order Entries gives them: newest first by signing
// time, then by id, descending.
func sjWant(es []*Entry, q Query) []ID {
	var sel []*Entry
	for _, e := range es {
		if (q.Subject == "" || e.Subject == q.Subject) && (q.Kind == "" || e.Kind == q.Kind) {
			sel = append(sel, e)
		}
	}
	slices.SortFunc(sel, func(a, b *Entry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	})
	ids := make([]ID, len(sel))
	for i, e := range sel {
		ids[i] = e.ID
	}
	return ids
}

// sjKeys returns the store's keys with prefix p and their values.
func sjKeys(t testing.TB, l *Ledger, p byte) map[string]string {
	t.Helper()
	kv := make(map[string]string)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			kv[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// sjAllKeys returns every key of the store but the checkpoints, with its
// value.
func sjAllKeys(t testing.TB, l *Ledger) map[string]string {
	t.Helper()
	all := make(map[string]string)
	for p := range 256 {
		if p != pCheckpoint {
			maps.Copy(all, sjKeys(t, l, byte(p)))
		}
	}
	return all
}

func sjShort(ids []ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.Short()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Subjects and kinds of the fixture. "model-a" is a prefix of
// "model-a.v2", and "decision" of "decision-note": an index read of one
// must not reach the other.
var (
	sjSubjects = []string{BlobDigest([]byte("bundle one")), "model-a", "model-a.v2", ""}
	sjKinds    = []string{"request", "decision", "decision-note", "comment"}
)

// sjFixture appends 48 entries by three signers (one without identity),
// three of each kind of sjKinds about each subject of sjSubjects (and
// none).
// Signing times are not in arrival order, and pairs of entries share one.
func sjFixture(t testing.TB) (*Ledger, []*Entry) {
	t.Helper()
	l := openTest(t)
	signers := []Signer{testSigner(t, "alice@example.com"), testSigner(t, "bob@example.com"), testSigner(t, "")}
	const n = 48
	var es []*Entry
	for i := range n {
		subject := sjSubjects[i%len(sjSubjects)]
		kind := sjKinds[i/len(sjSubjects)%len(sjKinds)]
		at := t0.Add(time.Duration((i*11)%n/2) * time.Minute)
		e, err := l.AppendSubject(signers[i%len(signers)], kind, subject, comment(i), at)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return l, es
}

// sjQueries returns every query by subject, by kind, and by both, over
// the fixture's subjects and kinds and some the ledger does not hold.
func sjQueries() []Query {
	subjects := append(slices.Clone(sjSubjects), "model", "model-a.v", "sha256")
	kinds := append(slices.Clone(sjKinds), "", "decision-", "note")
	var qs []Query
	for _, s := range subjects {
		for _, k := range kinds {
			qs = append(qs, Query{Subject: s, Kind: k})
		}
	}
	return qs
}

func TestAppendSubjectPayload(t *testing.T) {
	l := openTest(t)
	alice, anon := testSigner(t, "alice@example.com"), testSigner(t, "")
	subject := BlobDigest([]byte("bundle"))

	e, err := l.AppendSubject(alice, "request", subject, []byte(`{ "n": 1 }`), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := `"time":"2026-11-21T09:00:00Z","identity":"alice@example.com","subject":"` + subject + `","body":{"n":1}}`
	if !bytes.HasSuffix(e.Payload, []byte(want)) {
		t.Fatalf("payload\n%s\ndoes not end with\n%s", e.Payload, want)
	}
	if e.Subject != subject {
		t.Fatalf("entry subject %q, want %q", e.Subject, subject)
	}
	h, err := ParsePayload(e.Payload)
	if err != nil || h.Subject != subject {
		t.Fatalf("ParsePayload = %+v, %v; want subject %s", h, err, subject)
	}
	got, err := l.Get(e.ID)
	if err != nil || got.Subject != subject || !bytes.Equal(got.Payload, e.Payload) {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	// Without identity the subject follows the time.
	e2, err := l.AppendSubject(anon, "comment", "model-a", []byte(`{}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"time":"2026-11-21T09:00:00Z","subject":"model-a","body":{}}`; !bytes.HasSuffix(e2.Payload, []byte(want)) {
		t.Fatalf("payload\n%s\ndoes not end with\n%s", e2.Payload, want)
	}
	if h, err := ParsePayload(e2.Payload); err != nil || h.Subject != "model-a" || h.Identity != "" {
		t.Fatalf("ParsePayload = %+v, %v", h, err)
	}

	// An empty subject is omitted, by Append and by AppendSubject.
	e3, err := l.Append(alice, "comment", []byte(`{}`), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	e4, err := l.AppendSubject(anon, "comment", "", []byte(`{}`), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*Entry{e3, e4} {
		if bytes.Contains(e.Payload, []byte(`"subject"`)) || e.Subject != "" {
			t.Fatalf("entry without subject has payload %s", e.Payload)
		}
		if h, err := ParsePayload(e.Payload); err != nil || h.Subject != "" {
			t.Fatalf("ParsePayload = %+v, %v", h, err)
		}
	}

	// ParsePayload reads the subject in the one form appendPayload
	// writes, and checks it.
	p := string(e.Payload)
	field := `,"subject":"` + subject + `"`
	for _, tc := range []struct{ name, payload, want string }{
		{"empty subject", strings.Replace(p, field, `,"subject":""`, 1), "empty subject must be omitted"},
		{"uppercase", strings.Replace(p, field, `,"subject":"`+strings.ToUpper(subject)+`"`, 1), `may hold only a-z, 0-9 and : . _ -`},
		{"uppercase name", strings.Replace(p, field, strings.ToUpper(field), 1), `want ,"body":`},
		{"space", strings.Replace(p, field, `,"subject":"model a"`, 1), `may hold only a-z, 0-9 and : . _ -`},
		{"129 characters", strings.Replace(p, field, `,"subject":"`+strings.Repeat("a", 129)+`"`, 1), "must be 1 to 128 characters"},
		{"escaped", strings.Replace(p, field, `,"subject":"model\u002da"`, 1), "printable ASCII only"},
		{"not a string", strings.Replace(p, field, `,"subject":7`, 1), "want a string"},
		{"before identity", strings.Replace(strings.Replace(p, field, "", 1), `,"identity"`, field+`,"identity"`, 1), `want ,"body":`},
		{"after body", strings.Replace(strings.TrimSuffix(p, "}"), field, "", 1) + field + "}", "body is not a JSON object"},
		{"twice", strings.Replace(p, field, field+field, 1), `want ,"body":`},
	} {
		h, err := ParsePayload([]byte(tc.payload))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParsePayload(%s) = %+v, %v; want an error with %q", tc.name, tc.payload, h, err, tc.want)
		}
	}
	// A subject of 128 characters, the most, is read.
	long := strings.Repeat("a", 128)
	if h, err := ParsePayload([]byte(strings.Replace(p, field, `,"subject":"`+long+`"`, 1))); err != nil || h.Subject != long {
		t.Errorf("ParsePayload of a 128-character subject = %+v, %v", h, err)
	}
}

func TestCheckSubject(t *testing.T) {
	for _, s := range []string{
		"a", "0", "-", BlobDigest(nil), "credit-risk.v7_final:2", "model-a.v2", strings.Repeat("z", 128),
	} {
		if err := CheckSubject(s); err != nil {
			t.Errorf("CheckSubject(%q) = %v", s, err)
		}
	}
	const length, chars = "must be 1 to 128 characters", "may hold only a-z, 0-9 and : . _ -"
	bad := []struct{ s, want string }{
		{"", length},
		{strings.Repeat("a", 129), length},
		{strings.Repeat("A", 200), length},
		{"Model", chars},
		{"SHA256:ABC", chars},
		{"model a", chars},
		{" model", chars},
		{"model/a", chars},
		{"model*", chars},
		{"modèle", chars},
		{"a\x00b", chars},
		{"a\nb", chars},
		{`a"b`, chars},
		{`a\b`, chars},
	}
	for _, tc := range bad {
		err := CheckSubject(tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckSubject(%q) = %v, want an error with %q", tc.s, err, tc.want)
		}
	}

	// Append refuses them with the same error, stores nothing, and the
	// feed goes on where it was.
	l := openTest(t)
	alice := testSigner(t, "alice@example.com")
	first, err := l.AppendSubject(alice, "comment", "model-a", []byte(`{}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	before := sjAllKeys(t, l)
	for _, tc := range bad {
		if tc.s == "" {
			continue // no subject
		}
		e, err := l.AppendSubject(alice, "comment", tc.s, []byte(`{}`), t0.Add(time.Minute))
		if err == nil || !strings.Contains(err.Error(), CheckSubject(tc.s).Error()) {
			t.Errorf("AppendSubject(%q) = %v, %v; want the error %q", tc.s, e, err, CheckSubject(tc.s))
		}
		_, err = SignEntry(alice, Header{Kind: "comment", Seq: 1, Time: t0, Subject: tc.s, Body: []byte(`{}`)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SignEntry with subject %q: %v, want an error with %q", tc.s, err, tc.want)
		}
		if err := l.Entries(Query{Subject: tc.s}, func(*Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Entries(Query{Subject: %q}) = %v, want an error with %q", tc.s, err, tc.want)
		}
	}
	if after := sjAllKeys(t, l); !maps.Equal(after, before) {
		t.Fatalf("refused appends changed the store: %d keys, %d before", len(after), len(before))
	}
	e, err := l.AppendSubject(alice, "comment", "model-b", []byte(`{}`), t0.Add(time.Hour))
	if err != nil || e.Seq != 2 || e.Prev != first.ID {
		t.Fatalf("AppendSubject after the refusals = %+v, %v; want seq 2 after %s", e, err, first.ID)
	}
}

func TestEntriesBySubjectAndKind(t *testing.T) {
	l, es := sjFixture(t)
	for _, q := range sjQueries() {
		got, want := sjQuery(t, l, q), sjWant(es, q)
		if !slices.Equal(got, want) {
			t.Errorf("Entries(subject %q, kind %q) = %s, want %s", q.Subject, q.Kind, sjShort(got), sjShort(want))
		}
	}
	// Every entry comes back from its subject's query and its kind's,
	// with its subject.
	for _, e := range es {
		if e.Subject != "" && !slices.Contains(sjQuery(t, l, Query{Subject: e.Subject}), e.ID) {
			t.Errorf("entry %s is not found by its subject %q", e.ID.Short(), e.Subject)
		}
		if !slices.Contains(sjQuery(t, l, Query{Kind: e.Kind}), e.ID) {
			t.Errorf("entry %s is not found by its kind %q", e.ID.Short(), e.Kind)
		}
	}
	var subjects []string
	l.Entries(Query{Subject: "model-a"}, func(e *Entry) error { subjects = append(subjects, e.Subject); return nil })
	if len(subjects) == 0 || slices.ContainsFunc(subjects, func(s string) bool { return s != "model-a" }) {
		t.Errorf("entries about model-a have subjects %q", subjects)
	}

	// ErrStop stops the walk without error.
	n := 0
	err := l.Entries(Query{Subject: "model-a"}, func(*Entry) error { n++; return ErrStop })
	if err != nil || n != 1 {
		t.Errorf("Entries stopped with ErrStop: %d calls, %v", n, err)
	}
	// Another error stops it and comes back.
	boom := errors.New("boom")
	if err := l.Entries(Query{Kind: "comment"}, func(*Entry) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Entries returned %v, want fn's error", err)
	}

	// A query by subject or kind within a feed.
	feed := es[0].Feed
	var want []ID
	for _, e := range slices.Backward(es) {
		if e.Feed == feed && e.Kind == "decision" {
			want = append(want, e.ID)
		}
	}
	if got := sjQuery(t, l, Query{Feed: &feed, Kind: "decision"}); !slices.Equal(got, want) {
		t.Errorf("Entries(feed, kind decision) = %s, want %s (by seq)", sjShort(got), sjShort(want))
	}
}

// TestEntriesReadOnlySelected: a query by kind or subject reads the kind
// or subject index, not every entry. An entry whose index key is gone is
// not found by the query; an unreadable entry of another kind or subject
// does not stop it.
func TestEntriesReadOnlySelected(t *testing.T) {
	l, es := sjFixture(t)
	var victim, broken *Entry
	for _, e := range es {
		switch {
		case victim == nil && e.Kind == "request" && e.Subject == "model-a":
			victim = e
		case broken == nil && e.Kind == "comment" && e.Subject == "":
			broken = e
		}
	}
	if victim == nil || broken == nil {
		t.Fatal("the fixture lacks a request about model-a or a comment about nothing")
	}
	t1 := uint64(victim.Time.UnixNano())
	rawDelete(t, l, indexKey(pKind, victim.Kind, t1, victim.ID))
	rawDelete(t, l, indexKey(pSubject, victim.Subject, t1, victim.ID))
	if slices.Contains(sjQuery(t, l, Query{Kind: "request"}), victim.ID) {
		t.Error("Entries by kind found an entry whose kind index key is gone: it does not read the kind index")
	}
	if slices.Contains(sjQuery(t, l, Query{Subject: "model-a"}), victim.ID) {
		t.Error("Entries by subject found an entry whose subject index key is gone: it does not read the subject index")
	}
	if !slices.Contains(sjQuery(t, l, Query{}), victim.ID) {
		t.Error("the entry is gone from the walk by time")
	}

	rawSet(t, l, storeKey(broken), []byte("not an entry"))
	if err := l.Entries(Query{}, func(*Entry) error { return nil }); err == nil {
		t.Fatal("Entries over every entry reads an unreadable entry without error")
	}
	for _, q := range []Query{{Kind: "request"}, {Kind: "decision"}, {Subject: "model-a"}, {Subject: "model-a.v2", Kind: "decision"}} {
		var got []ID
		if err := l.Entries(q, func(e *Entry) error { got = append(got, e.ID); return nil }); err != nil {
			t.Errorf("Entries(%+v) reads an entry it does not select: %v", q, err)
		}
		if len(got) == 0 {
			t.Errorf("Entries(%+v) found nothing", q)
		}
	}
	var ee *EntryError
	err := l.Entries(Query{Kind: "comment"}, func(*Entry) error { return nil })
	if !errors.As(err, &ee) || ee.ID != broken.ID {
		t.Errorf("Entries by the broken entry's kind: %v, want an *EntryError naming %s", err, broken.ID)
	}
}

func TestSubjects(t *testing.T) {
	l, _ := sjFixture(t)
	digest := sjSubjects[0]
	for _, tc := range []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"", 100, []string{"model-a", "model-a.v2", digest}},
		{"", 3, []string{"model-a", "model-a.v2", digest}},
		{"", 2, []string{"model-a", "model-a.v2"}},
		{"", 1, []string{"model-a"}},
		{"", 0, nil},
		{"", -1, nil},
		{"model", 10, []string{"model-a", "model-a.v2"}},
		{"model-a", 10, []string{"model-a", "model-a.v2"}},
		{"model-a.", 10, []string{"model-a.v2"}},
		{"model-a.v2", 10, []string{"model-a.v2"}},
		{"model-a.v3", 10, nil},
		{"model-b", 10, nil},
		{"sha256:", 2, []string{digest}},
		{digest[:13], 2, []string{digest}},
		{digest, 2, []string{digest}},
		{digest + "0", 2, nil},
		{"zzz", 10, nil},
		{"\xff", 10, nil},
	} {
		got, err := l.Subjects(tc.prefix, tc.limit)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Subjects(%q, %d) = %q, %v; want %q", tc.prefix, tc.limit, got, err, tc.want)
		}
	}
	// An empty ledger has none.
	if got, err := openTest(t).Subjects("", 10); err != nil || len(got) != 0 {
		t.Errorf("Subjects of an empty ledger = %q, %v", got, err)
	}
}

// TestSubjectIndexTravels: an export imported into a fresh ledger gives
// the same answers by subject and kind, from the same index keys.
func TestSubjectIndexTravels(t *testing.T) {
	l, _ := sjFixture(t)
	var buf bytes.Buffer
	if _, err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t)
	res, err := l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 48 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	for _, q := range sjQueries() {
		if got, want := sjQuery(t, l2, q), sjQuery(t, l, q); !slices.Equal(got, want) {
			t.Errorf("imported Entries(subject %q, kind %q) = %s, the original's %s", q.Subject, q.Kind, sjShort(got), sjShort(want))
		}
	}
	got, err := l2.Subjects("", 100)
	want, _ := l.Subjects("", 100)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("imported Subjects = %q, %v; the original's %q", got, err, want)
	}
	for _, p := range []byte{pKind, pSubject, pTime, pID, pEntry} {
		if got, want := sjKeys(t, l2, p), sjKeys(t, l, p); !maps.Equal(got, want) {
			t.Errorf("the imported ledger has %d %q keys, the original %d, or other ones", len(got), p, len(want))
		}
	}
	if r := mustVerify(t, l2, true); !r.OK() {
		t.Errorf("the imported ledger does not verify: %+v", r)
	}
}

// sjChain signs n entries of one feed with SignEntry, entry i as h(i)
// makes it, seq and prev filled in.
func sjChain(t testing.TB, s Signer, n int, h func(i int) Header) []*Entry {
	t.Helper()
	var es []*Entry
	for i := range n {
		hd := h(i)
		hd.Seq = uint64(i + 1)
		if i > 0 {
			hd.Prev = es[i-1].ID
		}
		e, err := SignEntry(s, hd)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return es
}

// TestFailedImportLeavesNoIndexKeys imports a file of entries about
// subjects whose last line is bad, after the import has staged thousands
// of them and a WriteBatch commit has put some of their keys in the store:
// no subject or kind index key (nor any other) may stay behind.
func TestFailedImportLeavesNoIndexKeys(t *testing.T) {
	l, _ := sjFixture(t)
	before := sjAllKeys(t, l)
	arrivals := l.arrivalCount()

	// Bodies of 2 KiB: the WriteBatch commits every few thousand entries.
	pad := strings.Repeat("x", 2048)
	const n = 4200 // more than 4096: a progress report comes after a commit
	signers := []Signer{testSigner(t, "dave@example.com"), testSigner(t, "")}
	var lines [][]byte
	for j, s := range signers {
		es := sjChain(t, s, n/len(signers), func(i int) Header {
			return Header{
				Kind:    sjKinds[i%len(sjKinds)],
				Subject: fmt.Sprintf("model-%d.v%d", j, i%7),
				Time:    t0.Add(time.Duration(i) * time.Second),
				Body:    []byte(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, pad)),
			}
		})
		for _, e := range es {
			lines = append(lines, e.MarshalLine())
		}
	}
	lines = append(lines, []byte(`{"payload":"bm90IGEgcGF5bG9hZA==","signature":"AAAA"}`))

	staged := 0
	res, err := l.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{Progress: func(done int) {
		// The import waits while Progress runs; a WriteBatch commit
		// already under way does not.
		deadline := time.Now().Add(10 * time.Second)
		for {
			staged = max(staged, sjCountNew(t, l, pSubject, before))
			if staged > 0 || done < 4096 || time.Now().After(deadline) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("Import = %+v, %v; want an *ImportError", res, err)
	}
	if ie.Total != 1 || ie.Problems[0].Line != len(lines) || !strings.Contains(err.Error(), fmt.Sprintf("line %d", len(lines))) {
		t.Fatalf("import error %v (%d problems), want one, on line %d", err, ie.Total, len(lines))
	}
	if staged == 0 {
		t.Fatal("no staged subject index key reached the store before the import failed: the test does not test the rollback")
	}
	t.Logf("%d subject index keys were staged in the store when the import failed", staged)

	after := sjAllKeys(t, l)
	for _, p := range []byte{pSubject, pKind, pArrival, pEntry, pID, pTime} {
		got, want := sjOfPrefix(after, p), sjOfPrefix(before, p)
		if !maps.Equal(got, want) {
			t.Errorf("after the failed import the store has %d %q keys, %d before", len(got), p, len(want))
		}
	}
	if !maps.Equal(after, before) {
		t.Errorf("after the failed import the store has %d keys, %d before", len(after), len(before))
	}
	if l.arrivalCount() != arrivals {
		t.Errorf("after the failed import %d arrivals, %d before", l.arrivalCount(), arrivals)
	}
	if got, err := l.Subjects("model-0", 10); err != nil || len(got) != 0 {
		t.Errorf("after the failed import Subjects lists %q, %v", got, err)
	}
	if got := sjQuery(t, l, Query{Subject: "model-1.v0"}); len(got) != 0 {
		t.Errorf("after the failed import Entries finds %d entries about model-1.v0", len(got))
	}

	// Without the bad line, the same file imports.
	res, err = l.Import(bytes.NewReader(joinExportLines(lines[:len(lines)-1])), ImportOptions{})
	if err != nil || res.Added != n {
		t.Fatalf("Import of the good lines = %+v, %v", res, err)
	}
	if got := sjQuery(t, l, Query{Subject: "model-1.v0", Kind: "request"}); len(got) != (n/2+27)/28 {
		t.Errorf("%d requests about model-1.v0 after the good import, want %d", len(got), (n/2+27)/28)
	}
}

// sjCountNew counts the keys with prefix p that before does not hold.
func sjCountNew(t testing.TB, l *Ledger, p byte, before map[string]string) int {
	n := 0
	for k := range sjKeys(t, l, p) {
		if _, ok := before[k]; !ok {
			n++
		}
	}
	return n
}

func sjOfPrefix(kv map[string]string, p byte) map[string]string {
	out := make(map[string]string)
	for k, v := range kv {
		if k[0] == p {
			out[k] = v
		}
	}
	return out
}

func TestForks(t *testing.T) {
	l := openTest(t)
	alice, bob := testSigner(t, "alice@example.com"), testSigner(t, "bob@example.com")
	var aliceFeed Feed
	for i := range 3 {
		e, err := l.AppendSubject(alice, "comment", "model-a", comment(i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		aliceFeed = e.Feed
	}
	for _, f := range []Feed{aliceFeed, {}} {
		if forks, err := l.Forks(f); err != nil || len(forks) != 0 {
			t.Fatalf("Forks(%s) of a clean feed = %v, %v", f, forks, err)
		}
	}

	// Bob signs seq 2 twice, elsewhere.
	es := sjChain(t, bob, 3, func(i int) Header {
		return Header{Kind: "decision", Subject: "model-a", Time: t0.Add(time.Duration(i) * time.Minute), Body: comment(i)}
	})
	other, err := SignEntry(bob, Header{Kind: "decision", Seq: 2, Prev: es[0].ID, Subject: "model-a", Time: t0.Add(time.Minute), Body: []byte(`{"text":"the other story"}`)})
	if err != nil {
		t.Fatal(err)
	}
	bobFeed := es[0].Feed
	if other.Feed != bobFeed || other.Identity != "bob@example.com" || other.Seq != 2 || other.ID == es[1].ID {
		t.Fatalf("SignEntry gave %+v", other.Header)
	}

	res := mustImportLines(t, l, es[0].MarshalLine(), es[1].MarshalLine(), es[2].MarshalLine())
	if res.Added != 3 || len(res.Equivocations) != 0 {
		t.Fatalf("Import of bob's feed = %+v", res)
	}
	if forks, err := l.Forks(bobFeed); err != nil || len(forks) != 0 {
		t.Fatalf("Forks of bob's clean feed = %v, %v", forks, err)
	}

	res = mustImportLines(t, l, other.MarshalLine())
	if res.Added != 1 {
		t.Fatalf("Import of the fork = %+v", res)
	}
	hasEquivocation(t, "import", res.Equivocations, bobFeed, 2, es[1].ID, other.ID)
	forks, err := l.Forks(bobFeed)
	if err != nil {
		t.Fatal(err)
	}
	hasEquivocation(t, "Forks", forks, bobFeed, 2, es[1].ID, other.ID)
	if forks, err := l.Forks(aliceFeed); err != nil || len(forks) != 0 {
		t.Fatalf("Forks of alice's feed after bob's fork = %v, %v", forks, err)
	}
	// Both sides of the fork are found by their subject.
	ids := sjQuery(t, l, Query{Subject: "model-a", Kind: "decision"})
	if len(ids) != 4 || !slices.Contains(ids, other.ID) || !slices.Contains(ids, es[1].ID) {
		t.Fatalf("decisions about model-a: %s", sjShort(ids))
	}
	// Importing the fork again reports it, adds nothing and keeps one
	// marker.
	res = mustImportLines(t, l, other.MarshalLine())
	if res.Added != 0 || res.Present != 1 {
		t.Fatalf("second import of the fork = %+v", res)
	}
	if forks, _ := l.Forks(bobFeed); len(forks) != 1 {
		t.Fatalf("Forks after the second import: %v", forks)
	}
	// Bob's own ledger would refuse to extend the forked feed.
	if _, err := l.Append(bob, "comment", comment(9), t0.Add(time.Hour)); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("Append to a forked feed: %v, want ErrEquivocation", err)
	}

	// The fork travels with an export.
	var buf bytes.Buffer
	if _, err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t)
	res, err = l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 7 {
		t.Fatalf("Import of the export = %+v, %v", res, err)
	}
	forks, err = l2.Forks(bobFeed)
	if err != nil {
		t.Fatal(err)
	}
	hasEquivocation(t, "Forks after export and import", forks, bobFeed, 2, es[1].ID, other.ID)
}

// TestSeveralSubjects: an entry may name up to MaxSubjects subjects, and
// each query by one of them finds it; a failed import removes every index
// key it wrote for them.
func TestSeveralSubjects(t *testing.T) {
	l := openTest(t)
	s := testSigner(t, "erin@example.com")
	e, err := l.AppendSubject(s, "request", "sha256:aa,mv:bb", []byte(`{"n":1}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"sha256:aa", "mv:bb"} {
		var got []ID
		if err := l.Entries(Query{Subject: subj}, func(x *Entry) error { got = append(got, x.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != e.ID {
			t.Errorf("Entries(subject %s) = %v, want [%s]", subj, got, e.ID)
		}
	}
	if !e.About("mv:bb") || e.About("mv:b") || e.About("sha256:aa,mv:bb") {
		t.Error("About does not match whole subjects")
	}
	for _, bad := range []string{"a,a", "a,b,c,d,e", "a,", ",a", "a,B"} {
		if _, err := l.AppendSubject(s, "request", bad, []byte(`{}`), t0); err == nil {
			t.Errorf("AppendSubject(%q) succeeded", bad)
		}
	}
	// The staged keys of an arrival name every subject's index key.
	keys, err := stagedKeys(arrivalValue(e))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{string(indexKey(pSubject, "sha256:aa", uint64(e.Time.UnixNano()), e.ID)): true, string(indexKey(pSubject, "mv:bb", uint64(e.Time.UnixNano()), e.ID)): true}
	for _, k := range keys {
		delete(want, string(k))
	}
	if len(want) != 0 {
		t.Errorf("stagedKeys misses %d subject index keys", len(want))
	}
}
