package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// utBodySeeds returns bodies of every kind ParseBody reads, as signoff
// writes them (valid), bodies it must refuse (invalid), and bodies it
// takes that signoff would not write (odd).
func utBodySeeds(t testing.TB) (valid, invalid, odd [][2]string) {
	t.Helper()
	keys := utKeys(t)
	bundle := ledger.BlobDigest([]byte("bundle"))
	digest := ledger.BlobDigest([]byte("other"))
	promo := &Subject{Model: "credit-risk", Version: "7", Bundle: bundle, From: "staging", To: "production"}
	plain := &Subject{Model: "credit-risk", Version: "7", Bundle: bundle}
	add := func(kind string, b *Body) { valid = append(valid, [2]string{kind, string(b.Marshal())}) }
	for kind, doc := range map[string]string{KindRoot: utRootDoc, KindKeyring: utKeyringDoc, KindPolicy: utPolicyDoc} {
		text := keys.Replace(doc)
		add(kind, &Body{Version: 1, Digest: ledger.BlobDigest([]byte(text)), Document: text})
	}
	add(KindRequest, &Body{Subject: promo, Tier: "high", Change: "retrain", Authors: []string{"alice@example.com"},
		Evidence: map[string]string{"card.md": digest, "metrics.json": bundle}, Policy: digest, Gates: digest,
		Results: []Result{
			{Name: "auc", Kind: "metric", Status: Pass, Observed: evidence.Value{V: 0.83}, Bound: ">= 0.7", Reason: "0.83 >= 0.7"},
			{Name: "di", Kind: "fairness", Status: Undefined, Observed: evidence.Value{Undefined: "no groups"}, Reason: "undefined"},
		}})
	add(KindDecision, &Body{Subject: promo, Verdict: Approve, Role: "risk", Reason: "looks fine <&>", Ticket: "RISK-1",
		Policy: digest, Keyring: 3, Gates: digest, Reviewed: []Reviewed{{Section: "card", Seconds: 30}, {Section: "metrics"}}})
	add(KindDecision, &Body{Subject: promo, Verdict: Reject, Role: "model-owner", Reason: "drift"})
	add(KindDecision, &Body{Subject: promo, Verdict: RequestChanges, Role: "compliance", Reason: "Grüße \u2028 \"quoted\"\n"})
	add(KindEmergency, &Body{Subject: promo, Role: "mlops", Reason: "outage", Ticket: "INC-7", Policy: digest})
	add(KindIncidentReview, &Body{Subject: promo, Role: "risk", Reason: "reviewed", Ref: "sha256:" + strings.Repeat("0", 64)})
	add(KindPromote, &Body{Subject: promo, Policy: digest, Gates: digest})
	add(KindRestrict, &Body{Subject: plain, Reason: "bias found"})
	add(KindDeprecate, &Body{Subject: plain})
	subj := `"subject":{"model":"m","version":"1","bundle":"` + bundle + `","from":"a","to":"b"}`
	invalid = [][2]string{
		{KindDecision, `{` + subj + `,"verdict":"maybe","role":"risk","reason":"x"}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"risk","reason":" "}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"Risk","reason":"x"}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"risk","reason":"x","reviewed":[{"section":"vibes","seconds":1}]}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"risk","reason":"x","reviewed":[{"section":"card","seconds":-1}]}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"risk","reason":"x","ticket":"` + strings.Repeat("t", MaxTicket+1) + `"}`},
		{KindEmergency, `{` + subj + `,"reason":"x"}`},
		{KindRequest, `{"subject":{"model":"m","version":"1","bundle":"` + bundle + `"}}`},
		{KindRequest, `{"subject":{"model":"m","version":"1","bundle":"` + bundle + `","to":"b"}}`},
		{KindRequest, `{"subject":{"model":"","version":"1","bundle":"` + bundle + `","from":"a","to":"b"}}`},
		{KindRequest, `{"subject":{"model":"m","version":"1","bundle":"sha256:ABC","from":"a","to":"b"}}`},
		{KindRequest, `{` + subj + `,"evidence":{"a":"sha256:x"}}`},
		{KindRequest, `{` + subj + `,"results":[{"name":"g","observed":{"undefined":""}}]}`},
		{KindRequest, `{` + subj + `,"results":[{"name":"g","observed":"0.5"}]}`},
		{KindRequest, `{` + subj + `,"keyring":1.5}`},
		{KindRestrict, `{` + subj + `,"reason":"x","document":"x"}`},
		{KindRestrict, `{` + subj + `}`},
		{KindRoot, `{"version":1,"digest":"` + bundle + `","document":"x"}`},
		{KindRoot, `{"version":0,"digest":"` + ledger.BlobDigest([]byte("x")) + `","document":"x"}`},
		{KindRoot, `{"version":1,"digest":"` + ledger.BlobDigest([]byte("x")) + `","document":"x",` + subj + `}`},
		{"comment", `{` + subj + `}`},
		{"", `{}`},
		{KindDeprecate, `{` + subj + `,"colour":"red"}`},
		{KindDeprecate, `null`},
		{KindDeprecate, `[]`},
		{KindDeprecate, ``},
		{KindDeprecate, `{` + subj},
	}
	odd = [][2]string{
		// Empty lists and maps, zeros and nulls: JSON omits them alike.
		{KindRequest, `{` + subj + `,"authors":[],"evidence":{},"keyring":0,"results":null}`},
		{KindRequest, `{` + subj + `,"results":[{"name":"g","observed":null}]}`},
		// encoding/json matches field names without regard to case,
		// takes the last of duplicate names and ignores what follows the
		// first value.
		{KindDecision, `{"SUBJECT":{"Model":"m","version":"1","bundle":"` + bundle + `","from":"a","to":"b"},"verdict":"approve","role":"risk","reason":"x"}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","Verdict":"reject","role":"risk","reason":"x"}`},
		{KindDecision, `{` + subj + `,"verdict":"reject","verdict":"approve","role":"risk","reason":"x"}`},
		{KindDecision, `{` + subj + `,"verdict":"approve","role":"risk","reason":"x"} {"verdict":"reject"}`},
	}
	return valid, invalid, odd
}

// utNormal returns a copy of b with empty lists and maps made nil: JSON
// omits both alike.
func utNormal(b *Body) *Body {
	c := *b
	if len(c.Authors) == 0 {
		c.Authors = nil
	}
	if len(c.Evidence) == 0 {
		c.Evidence = nil
	}
	if len(c.Results) == 0 {
		c.Results = nil
	}
	if len(c.Reviewed) == 0 {
		c.Reviewed = nil
	}
	return &c
}

func FuzzParseBody(f *testing.F) {
	valid, invalid, odd := utBodySeeds(f)
	for _, s := range slices.Concat(valid, invalid, odd) {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		b, err := ParseBody(kind, body)
		if err != nil {
			if b != nil {
				t.Fatalf("ParseBody returned a body and the error %v", err)
			}
			return
		}
		m := b.Marshal()
		if !json.Valid(m) || !json.Valid(bytes.TrimSpace(m)) || bytes.ContainsAny(m, "\n\r\t") {
			t.Fatalf("Marshal wrote %q, not compact JSON", m)
		}
		b2, err := ParseBody(kind, m)
		if err != nil {
			t.Fatalf("the re-marshalled body does not parse: %v\nbody: %q\nre-marshalled: %s", err, body, m)
		}
		if !reflect.DeepEqual(utNormal(b), utNormal(b2)) {
			t.Fatalf("the re-marshalled body parses to another body:\n%+v\n%+v\nbody: %q\nre-marshalled: %s", b, b2, body, m)
		}
		if m2 := b2.Marshal(); !bytes.Equal(m, m2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s", m, m2)
		}
		// What the kind needs is there.
		switch kind {
		case KindRoot, KindKeyring, KindPolicy:
			if b.Subject != nil || ledger.BlobDigest([]byte(b.Document)) != b.Digest {
				t.Fatalf("a %s body with subject %v, digest %s of its document", kind, b.Subject, b.Digest)
			}
		default:
			if b.Subject == nil || !IsDigest(b.Subject.Bundle) || ledger.CheckSubject(b.Subject.Bundle) != nil {
				t.Fatalf("a %s body about %+v", kind, b.Subject)
			}
		}
	})
}

// TestFuzzSeeds checks that the fuzzers' valid seeds are valid and the
// invalid ones invalid, so that the fuzzers start from both.
func TestFuzzSeeds(t *testing.T) {
	valid, invalid, _ := utBodySeeds(t)
	for _, s := range valid {
		if _, err := ParseBody(s[0], []byte(s[1])); err != nil {
			t.Errorf("%s body %s: %v", s[0], s[1], err)
		}
	}
	for _, s := range invalid {
		if b, err := ParseBody(s[0], []byte(s[1])); err == nil {
			t.Errorf("%s body %s parses: %+v", s[0], s[1], b)
		}
	}
	docs := utDocumentSeeds(t)
	for i, d := range docs {
		_, err := ParseDocument("doc.yaml", []byte(d))
		if (err == nil) != (i < 4) { // the first four are valid
			t.Errorf("document seed %d: %v\n%s", i, err, d)
		}
	}
}

// utDocumentSeeds returns documents of the three kinds and some that
// ParseDocument must refuse.
func utDocumentSeeds(t testing.TB) []string {
	t.Helper()
	keys := utKeys(t)
	return []string{
		keys.Replace(utRootDoc),
		keys.Replace(utKeyringDoc),
		utPolicyDoc,
		keys.Replace("version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A]}]\n"),
		keys.Replace("version: 1\nthreshold: 2\nadmins: [{identity: a@x.org, keys: [KEY_A]}]\n"),
		keys.Replace("version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [RSA_KEY]}]\n"),
		keys.Replace("version: 1\nmembers:\n  - {identity: a@x.org, roles: [risk], keys: [KEY_A]}\n  - {identity: a@x.org, roles: [risk], keys: [KEY_B]}\n"),
		keys.Replace("version: 1\nmembers:\n  - {identity: a@x.org, roles: [Risk], keys: [KEY_A], valid_from: 2026-06-01T00:00:00Z, valid_until: 2026-01-01T00:00:00Z}\n"),
		"version: 1\ntiers:\n  high:\n    transitions:\n      a->b:\n        require: [{count: 0}]\n        require_review_of: [vibes]\n        emergency: {roles: [x], count: 1}\n",
		"version: 1\ntiers: &t {high: {transitions: {a->b: {require: [{any_of: [r], count: 1}]}}}}\nx: *t\n",
		"admins: []\nmembers: []\n",
		"version: 1\n",
		"[]",
		"",
	}
}

func FuzzParseDocument(f *testing.F) {
	for _, s := range utDocumentSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument("doc.yaml", data)
		if err != nil {
			var pe *evidence.ParseError
			if d != nil || !errors.As(err, &pe) || pe.File != "doc.yaml" {
				t.Fatalf("ParseDocument = %v, %v (%T); want no document and an *evidence.ParseError for doc.yaml", d, err, err)
			}
			return
		}
		// Bounded: a document over the limit is refused.
		if len(data) > MaxDocument {
			t.Fatalf("ParseDocument took a document of %d bytes", len(data))
		}
		kind, err := DocumentKind("doc.yaml", data)
		if err != nil || kind != d.Kind {
			t.Fatalf("DocumentKind = %q, %v; ParseDocument read a %s", kind, err, d.Kind)
		}
		if d.Digest != ledger.BlobDigest(data) || !bytes.Equal(d.Text, data) || d.Version < 1 {
			t.Fatalf("document %s, version %d", d.Digest, d.Version)
		}
		switch d.Kind {
		case KindRoot:
			r := d.Root
			if r == nil || d.Keyring != nil || d.Policy != nil || r.Version != d.Version {
				t.Fatalf("a root document: %+v", d)
			}
			if r.Threshold < 1 || r.Threshold > len(r.Admins) {
				t.Fatalf("root threshold %d of %d admins", r.Threshold, len(r.Admins))
			}
			for _, a := range r.Admins {
				if ledger.CheckIdentity(a.Identity) != nil || len(a.Keys) == 0 {
					t.Fatalf("admin %+v", a)
				}
				for _, k := range a.Keys {
					f, err := parseKey(k)
					if err != nil {
						t.Fatalf("admin key %q: %v", k, err)
					}
					if id, ok := r.AdminOf(f); !ok || id != a.Identity {
						t.Fatalf("AdminOf(%s's key) = %q, %v", a.Identity, id, ok)
					}
				}
			}
		case KindKeyring:
			k := d.Keyring
			if k == nil || d.Root != nil || d.Policy != nil || k.Version != d.Version {
				t.Fatalf("a keyring document: %+v", d)
			}
			for _, m := range k.Members {
				if ledger.CheckIdentity(m.Identity) != nil || checkRoles("member", m.Roles) != nil || len(m.Keys) == 0 {
					t.Fatalf("member %+v", m)
				}
				if m.ValidFrom != nil && m.ValidUntil != nil && !m.ValidUntil.After(*m.ValidFrom) {
					t.Fatalf("member %s valid from %v until %v", m.Identity, m.ValidFrom, m.ValidUntil)
				}
				for _, key := range m.Keys {
					f, err := parseKey(key)
					if err != nil {
						t.Fatalf("member key %q: %v", key, err)
					}
					if got, ok := k.MemberOf(f); !ok || got.Identity != m.Identity {
						t.Fatalf("MemberOf(%s's key) = %+v, %v", m.Identity, got, ok)
					}
				}
			}
		case KindPolicy:
			p := d.Policy
			if p == nil || d.Root != nil || d.Keyring != nil || p.Version != d.Version {
				t.Fatalf("a policy document: %+v", d)
			}
			for _, tier := range p.Tiers {
				for name, tr := range tier.Transitions {
					if from, to, ok := strings.Cut(name, "->"); !ok || from == "" || to == "" {
						t.Fatalf("transition %q", name)
					}
					if err := tr.check(); err != nil {
						t.Fatalf("transition %s: %v", name, err)
					}
					for _, r := range tr.Require {
						_ = r.String()
					}
					tr.RequiredRoles()
					tr.SoD()
				}
			}
		default:
			t.Fatalf("document kind %q", d.Kind)
		}
		// Parsing is a function of the bytes.
		d2, err := ParseDocument("doc.yaml", data)
		if err != nil || d2.Kind != d.Kind || d2.Version != d.Version || d2.Digest != d.Digest {
			t.Fatalf("second ParseDocument = %+v, %v", d2, err)
		}
	})
}
