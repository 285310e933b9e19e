package policy

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// An OpenRequest is a promotion asked for and not yet closed: no
// promotion of that bundle for that transition is recorded, and the model
// version is not deprecated. Only records whose signers count (in the
// keyring in force when they signed, not revoked since, and whose key
// never signed two histories) open or close a request.
type OpenRequest struct {
	Subject   Subject  `json:"subject"`
	Tier      string   `json:"tier"`
	Change    string   `json:"change"`
	Requested Signer   `json:"requested"` // the first request that counts
	Again     []Signer `json:"again,omitempty"`
}

// OpenRequests returns the requests open at at, in the order they were
// first requested. It is the one reading of which requests are open: the
// console's queue and signoff status read it through [JudgeOpen].
func OpenRequests(l *ledger.Ledger, t *Trust, at time.Time) ([]OpenRequest, error) {
	return openRequests(l, t, at, "")
}

// openRequests is [OpenRequests] of one model version, when scope is its
// [VersionSubject], or of all ("").
func openRequests(l *ledger.Ledger, t *Trust, at time.Time, scope string) ([]OpenRequest, error) {
	closed := map[Subject]bool{}
	deprecated := map[[2]string]bool{}
	for _, kind := range []string{KindPromote, KindDeprecate} {
		recs, err := t.records(l, ledger.Query{Kind: kind, Subject: scope}, at)
		if err != nil {
			return nil, err
		}
		for _, c := range recs {
			s := *c.r.Body.Subject
			if kind == KindPromote {
				closed[s] = true
			} else {
				deprecated[[2]string{s.Model, s.Version}] = true
			}
		}
	}
	recs, err := t.records(l, ledger.Query{Kind: KindRequest, Subject: scope}, at)
	if err != nil {
		return nil, err
	}
	var out []OpenRequest
	index := map[Subject]int{}
	for _, c := range recs {
		s := *c.r.Body.Subject
		if closed[s] || deprecated[[2]string{s.Model, s.Version}] {
			continue
		}
		who := c.signer(c.r, "")
		if i, ok := index[s]; ok {
			out[i].Again = append(out[i].Again, who)
			continue
		}
		index[s] = len(out)
		out = append(out, OpenRequest{Subject: s, Tier: c.r.Body.Tier, Change: c.r.Body.Change, Requested: who})
	}
	return out, nil
}

// A counted record is a record whose signer counts, with the member who
// signed it and the history that says so.
type counted struct {
	r *Record
	m *Member
	t *Trust
}

func (c counted) signer(r *Record, role string) Signer {
	return Signer{Identity: c.t.Person(c.m.Identity), Role: role, Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
}

// records reads the records q selects, signed by at, whose signers count
// at at (see [Trust.Counts]), in signing order. Records that do not parse
// or whose signers do not count are left out.
func (t *Trust) records(l *ledger.Ledger, q ledger.Query, at time.Time) ([]counted, error) {
	var out []counted
	memo := requestMemo{}
	err := l.Entries(q, func(e *ledger.Entry) error {
		if e.Time.After(at) {
			return nil
		}
		if err := checkEntry(e); err != nil {
			return err
		}
		r, err := ReadRecord(e)
		if err != nil || r.Body.Subject == nil {
			return nil
		}
		m, why, err := t.counts(l, r, at, memo)
		if err != nil {
			return err
		}
		if why == "" {
			out = append(out, counted{r, m, t})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b counted) int { return byTime(a.r, b.r) })
	return out, err
}

// Counts returns the keyring member whose signature on r counts when
// judged at at, or why it does not: the keyring in force when r was
// signed must list the key, not revoked then or since (see
// [Trust.Standing]), and the key must never have signed two histories
// in l. A decision that names the request it answers was signed after
// that request, whatever its own time says, and is judged so; the request
// must be one for the same subject whose signer counts. An approval that
// names none (signed before decisions did) does not count from a key any
// keyring revokes: its signing time alone cannot show that it came before
// the revocation. An error is a failure to read the ledger.
func (t *Trust) Counts(l *ledger.Ledger, r *Record, at time.Time) (*Member, string, error) {
	return t.counts(l, r, at, nil)
}

// A requestMemo keeps, across the records of one read, what [Trust.answered]
// found for each request named: many decisions name the same one.
type requestMemo map[string]answer

type answer struct {
	e   *ledger.Entry
	why string
}

// counts is [Trust.Counts], with memo (nil for none) for the requests
// decisions name.
func (t *Trust) counts(l *ledger.Ledger, r *Record, at time.Time, memo requestMemo) (*Member, string, error) {
	e := r.Entry
	notBefore := e.Time
	if e.Kind == KindDecision {
		switch {
		case r.Body.Ref != "":
			a, ok := memo[r.Body.Ref]
			if !ok {
				var err error
				if a.e, a.why, err = t.answered(l, r, at); err != nil {
					return nil, "", err
				}
				if memo != nil {
					memo[r.Body.Ref] = a
				}
			}
			if a.why != "" {
				return nil, a.why, nil
			}
			notBefore = latest(notBefore, a.e.Time)
		case r.Body.Verdict == Approve:
			if rv := t.revocationOf(e.Feed, at); rv != "" {
				return nil, "it names no request it answers (signed before decisions did), and " + rv + ": its signing time alone cannot show that it came before", nil
			}
		}
	}
	m, _, why := t.standing(e, notBefore, at)
	if why != "" {
		return nil, why, nil
	}
	forks, err := l.Forks(e.Feed)
	if err != nil {
		return nil, "", err
	}
	if len(forks) > 0 {
		return nil, "signed with a key that signed two histories (equivocation): nothing it signs counts", nil
	}
	return m, "", nil
}

// answered returns the request the decision r names, or why it does not
// count: the ledger must hold it, signed by at, a request for r's subject
// whose signer counts.
func (t *Trust) answered(l *ledger.Ledger, r *Record, at time.Time) (*ledger.Entry, string, error) {
	id, err := ledger.ParseID(r.Body.Ref)
	if err != nil {
		return nil, "its ref is not an entry id", nil
	}
	e, err := l.Get(id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Sprintf("it answers request %s, which this ledger does not hold", id.Short()), nil
	} else if err != nil {
		return nil, "", err
	}
	if e.Time.After(at) {
		return nil, fmt.Sprintf("it answers request %s, signed after the time judged", id.Short()), nil
	}
	if err := checkEntry(e); err != nil {
		return nil, "", err
	}
	req, err := ReadRecord(e)
	if err != nil || e.Kind != KindRequest || *req.Body.Subject != *r.Body.Subject {
		return nil, fmt.Sprintf("it answers entry %s, which is not a request for %s", id.Short(), r.Body.Subject), nil
	}
	if _, why, err := t.Counts(l, req, at); err != nil || why != "" {
		return nil, fmt.Sprintf("it answers request %s, which does not count: %s", id.Short(), why), err
	}
	return e, "", nil
}

// requests finds the requests for the transition judged whose signers
// count, one per person (the first each signed), and returns the
// requesters.
func (j *judge) requests() []string {
	var ids []string
	for _, r := range j.recs {
		if !j.about(r, KindRequest) {
			continue
		}
		if why := j.why[r.Entry.ID]; why != "" {
			j.warn("request %s does not count: %s", r.Entry.ID.Short(), why)
			continue
		}
		s := j.signer(r, "")
		if slices.Contains(ids, s.Identity) {
			continue // a person's request made again: the first stands
		}
		ids = append(ids, s.Identity)
		j.v.Requests = append(j.v.Requests, s)
	}
	if len(j.v.Requests) == 0 {
		j.fail("no one in the keyring has requested %s for this bundle (signoff request)", j.m.Transition)
	}
	return ids
}
