package policy

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// utKeyLine returns the OpenSSH public key line of the ed25519 key derived
// from seed: the same on every run.
func utKeyLine(t testing.TB, seed string) string {
	t.Helper()
	sum := sha256.Sum256([]byte("signoff policy unit test " + seed))
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(sum[:]).Public())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// Valid public keys of types signoff does not take, made by ssh-keygen.
const (
	utRSAKey   = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDQ9V9dDmiBZLGmaZ6+lTZM8pbqpYZNHdkPjlF9Ed4ddDndSW5nMOuz7LlTy+eKXSZl0RUPqJLhmcvyXQAAuaEfk/NsG1sNvq5Pg1QIs1o8Lculwp/P2KtUbM+svd04yprsZgAKM9tlrGJuQnBy2rawj/W3oq8/IJ2bXvzudqLnOgcHhY7K3131JmDH6YkH70U+2Gj8Gzon+3VxJ3Cp4M764J89nuBhykaAoDmSEmrSClLFErxD97hCfKjp+DwBnKOAyhP5Lg7bdXBp2eF4HQ8AEemLh40RhLSk2sl3xaFfjecbYqUUvkyjLQKL5ojR++lV9aby5s3ihhCANpInkITZ rsa-test"
	utECDSAKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKqt6g8p2HMW3qZjFerFCvILx/K0Xu6b2sFL/ETVY2Mal+537dWsdz9MhHTS5g8ghOzQSsbUAC9q3PPIpNkOQbM= ecdsa-test"
)

// utKeys replaces KEY_A … KEY_E in a document with ed25519 key lines,
// RSA_KEY and ECDSA_KEY with keys of those types.
func utKeys(t testing.TB) *strings.Replacer {
	t.Helper()
	var pairs []string
	for _, k := range []string{"A", "B", "C", "D", "E"} {
		pairs = append(pairs, "KEY_"+k, utKeyLine(t, k))
	}
	return strings.NewReplacer(append(pairs, "RSA_KEY", utRSAKey, "ECDSA_KEY", utECDSAKey)...)
}

const utRootDoc = `# the admins
version: 1
threshold: 2
admins:
  - identity: alice@example.com
    keys:
      - KEY_A
      - KEY_E
  - identity: bob@example.com
    keys: ["KEY_B"]
  - identity: carol@example.com
    keys: [KEY_C]
`

const utKeyringDoc = `version: 3
members:
  - identity: alice@example.com
    name: Alice
    roles: [governance, model-owner]
    keys: [KEY_A, KEY_E]
  - identity: bob@example.com
    roles: [risk]
    keys: [KEY_B]
    valid_from: 2026-01-01T00:00:00Z
    valid_until: 2027-01-01T00:00:00Z
  - identity: carol@example.com
    roles: [compliance, risk_2]
    keys: [KEY_C]
    revoked_at: 2026-06-01T00:00:00Z
  - identity: dave+ops@example.org
    roles: [mlops]
    keys: [KEY_D]
`

const utPolicyDoc = `version: 2
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        separation_of_duties: {authors_may_approve: false, requester_may_approve: true}
        approval_valid_for: 30d
        require_review_of: [card, metrics, fairness, evidence]
        gates:
          - {name: model-card, evidence: card}
          - {name: auc-floor, metric: roc_auc, min: 0.7}
          - {name: auc-vs-champion, metric: roc_auc, baseline: {max_drop: 0.01}, confidence: 0.95}
          - {name: di, fairness: disparate_impact, groups: [sex], min: 0.8}
          - {name: recall, expr: "metrics.candidate.recall >= 0.6"}
        emergency: {roles: [mlops], count: 1, valid_for: 72h, review_within: 7d, review_roles: [risk]}
  low:
    transitions:
      dev->staging:
        require:
          - {role: model-owner, count: 1}
        approval_valid_for: 2160h
`

func TestParseDocuments(t *testing.T) {
	keys := utKeys(t)
	for _, tc := range []struct {
		doc     string
		kind    string
		version int
	}{
		{utRootDoc, KindRoot, 1},
		{utKeyringDoc, KindKeyring, 3},
		{utPolicyDoc, KindPolicy, 2},
	} {
		data := []byte(keys.Replace(tc.doc))
		if kind, err := DocumentKind("doc.yaml", data); err != nil || kind != tc.kind {
			t.Fatalf("DocumentKind = %q, %v; want %s", kind, err, tc.kind)
		}
		d, err := ParseDocument("doc.yaml", data)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if d.Kind != tc.kind || d.Version != tc.version || d.Digest != ledger.BlobDigest(data) || string(d.Text) != string(data) {
			t.Fatalf("%s: document %+v", tc.kind, d)
		}
		if (d.Root != nil) != (tc.kind == KindRoot) || (d.Keyring != nil) != (tc.kind == KindKeyring) || (d.Policy != nil) != (tc.kind == KindPolicy) {
			t.Fatalf("%s: root %v, keyring %v, policy %v", tc.kind, d.Root != nil, d.Keyring != nil, d.Policy != nil)
		}
	}

	// What the documents say.
	root, err := ParseRoot("root.yaml", []byte(keys.Replace(utRootDoc)))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"A": "alice@example.com", "E": "alice@example.com", "B": "bob@example.com", "C": "carol@example.com", "D": ""} {
		id, ok := root.AdminOf(utFeed(t, utKeyLine(t, key)))
		if id != want || ok != (want != "") {
			t.Errorf("AdminOf(key %s) = %q, %v; want %q", key, id, ok, want)
		}
	}
	kr, err := ParseKeyring("keyring.yaml", []byte(keys.Replace(utKeyringDoc)))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := kr.MemberOf(utFeed(t, utKeyLine(t, "E"))); !ok || m.Identity != "alice@example.com" || !m.HasRole("model-owner") || m.HasRole("risk") {
		t.Errorf("MemberOf(alice's second key) = %+v, %v", m, ok)
	}
	bob, _ := kr.MemberOf(utFeed(t, utKeyLine(t, "B")))
	carol, _ := kr.MemberOf(utFeed(t, utKeyLine(t, "C")))
	for _, tc := range []struct {
		m    *Member
		at   string
		want string
	}{
		{bob, "2025-12-31T23:59:59Z", "not valid until 2026-01-01T00:00:00Z"},
		{bob, "2026-01-01T00:00:00Z", ""},
		{bob, "2026-12-31T23:59:59Z", ""},
		{bob, "2027-01-01T00:00:00Z", "expired at 2027-01-01T00:00:00Z"},
		{carol, "2026-05-31T00:00:00Z", ""},
		{carol, "2026-06-01T00:00:00Z", "revoked at 2026-06-01T00:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := tc.m.ValidAt(at); got != tc.want {
			t.Errorf("%s ValidAt(%s) = %q, want %q", tc.m.Identity, tc.at, got, tc.want)
		}
	}
	p, err := Parse("policy.yaml", []byte(utPolicyDoc))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := p.TransitionFor("high", "staging->production")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(tr.Require); got != "[1 of {model-owner} 2 of {risk, compliance}]" {
		t.Errorf("require: %s", got)
	}
	if sod := tr.SoD(); sod.AuthorsMayApprove || !sod.RequesterMayApprove {
		t.Errorf("separation of duties: %+v", sod)
	}
	if time.Duration(tr.ApprovalValidFor) != 30*24*time.Hour || len(tr.Gates) != 5 || len(tr.RequireReviewOf) != 4 {
		t.Errorf("transition: %+v", tr)
	}
	if e := tr.Emergency; e == nil || time.Duration(e.ValidFor) != 72*time.Hour || time.Duration(e.ReviewWithin) != 7*24*time.Hour || e.ReviewRoles[0] != "risk" {
		t.Errorf("emergency: %+v", tr.Emergency)
	}
	if got := fmt.Sprint(tr.RequiredRoles()); got != "[compliance model-owner risk]" {
		t.Errorf("RequiredRoles = %s", got)
	}
	if low, err := p.TransitionFor("low", "dev->staging"); err != nil || low.Emergency != nil || low.SoD() != (SeparationOfDuties{}) {
		t.Errorf("low tier: %+v, %v", low, err)
	}
}

func utFeed(t testing.TB, line string) ledger.Feed {
	t.Helper()
	f, err := parseKey(line)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// utWantError checks that err is an *evidence.ParseError for file, with
// a line if line, whose message holds want.
func utWantError(t *testing.T, what string, err error, file string, line bool, want string) {
	t.Helper()
	var pe *evidence.ParseError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %q", what, want)
	case !errors.As(err, &pe) || pe.File != file:
		t.Errorf("%s: %v (%T), want an *evidence.ParseError for %s", what, err, err, file)
	case !strings.Contains(err.Error(), want):
		t.Errorf("%s: %v\nwant an error with %q", what, err, want)
	case line && pe.Line == 0:
		t.Errorf("%s: %v: no line", what, err)
	}
}

func TestRootErrors(t *testing.T) {
	keys := utKeys(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"version 0", "version: 0\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A]}]", "root.yaml: version must be 1 or more"},
		{"no admins", "version: 1\nthreshold: 1\nadmins: []", "root.yaml: a root names at least one admin"},
		{"threshold above admins", "version: 1\nthreshold: 3\nadmins: [{identity: a@x.org, keys: [KEY_A]}, {identity: b@x.org, keys: [KEY_B]}]", "root.yaml: threshold 3 must be 1 to the number of admins (2)"},
		{"threshold 0", "version: 1\nthreshold: 0\nadmins: [{identity: a@x.org, keys: [KEY_A]}]", "threshold 0 must be 1 to the number of admins (1)"},
		{"no threshold", "version: 1\nadmins: [{identity: a@x.org, keys: [KEY_A]}]", "threshold 0 must be 1 to the number of admins (1)"},
		{"duplicate admin", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A]}, {identity: a@x.org, keys: [KEY_B]}]", "root.yaml: admins[1]: a@x.org is listed twice"},
		{"bad identity", "version: 1\nthreshold: 1\nadmins: [{identity: \"*\", keys: [KEY_A]}]", `admins[0]: identity "*" may hold only letters`},
		{"empty identity", "version: 1\nthreshold: 1\nadmins: [{keys: [KEY_A]}]", `admins[0]: identity "" must be 1 to 254 characters`},
		{"no key", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org}]", "admins[0] (a@x.org) has no key"},
		{"rsa key", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A, RSA_KEY]}]", "admins[0] (a@x.org) keys[1]: ssh-rsa key: signoff keys are ssh-ed25519"},
		{"ecdsa key", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [ECDSA_KEY]}]", "admins[0] (a@x.org) keys[0]: ecdsa-sha2-nistp256 key: signoff keys are ssh-ed25519"},
		{"not a key", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [ssh-ed25519 AAAA]}]", "admins[0] (a@x.org) keys[0]: not an OpenSSH public key line"},
		{"key shared", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A]}, {identity: b@x.org, keys: [KEY_B, KEY_A]}]", "admins[1] keys[1]: the key is also a@x.org's"},
		{"key twice", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A, KEY_A]}]", "admins[0] keys[1]: the key is also a@x.org's"},
		{"unknown field", "version: 1\nthreshold: 1\nadmins: [{identity: a@x.org, keys: [KEY_A], role: boss}]", "line 3: field role not found"},
	} {
		data := []byte(keys.Replace(tc.doc) + "\n")
		_, err := ParseRoot("root.yaml", data)
		utWantError(t, tc.name, err, "root.yaml", false, tc.want)
		_, err = ParseDocument("root.yaml", data)
		utWantError(t, tc.name+" (ParseDocument)", err, "root.yaml", false, tc.want)
	}
}

func TestKeyringErrors(t *testing.T) {
	keys := utKeys(t)
	const head = "version: 1\nmembers:\n"
	for _, tc := range []struct{ name, members, want string }{
		{"duplicate identity", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A]}\n  - {identity: a@x.org, roles: [compliance], keys: [KEY_B]}", "keyring.yaml: members[1]: a@x.org is listed twice; give one entry all their roles and keys"},
		{"key shared", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A]}\n  - {identity: b@x.org, roles: [risk], keys: [KEY_A]}", "keyring.yaml: members[1] keys[0]: the key is also a@x.org's"},
		{"key shared, second key", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A, KEY_B]}\n  - {identity: b@x.org, roles: [risk], keys: [KEY_C, KEY_B]}", "members[1] keys[1]: the key is also a@x.org's"},
		{"no roles", "  - {identity: a@x.org, keys: [KEY_A]}", "members[0] (a@x.org) names no role"},
		{"empty roles", "  - {identity: a@x.org, roles: [], keys: [KEY_A]}", "members[0] (a@x.org) names no role"},
		{"uppercase role", "  - {identity: a@x.org, roles: [Risk], keys: [KEY_A]}", `members[0] (a@x.org): role "Risk" must be lowercase letters, digits, - and _`},
		{"role with a space", "  - {identity: a@x.org, roles: [risk, \"risk officer\"], keys: [KEY_A]}", `members[0] (a@x.org): role "risk officer" must be lowercase`},
		{"role starting with a digit", "  - {identity: a@x.org, roles: [2nd-line], keys: [KEY_A]}", `role "2nd-line" must be lowercase`},
		{"empty role", "  - {identity: a@x.org, roles: [\"\"], keys: [KEY_A]}", `role "" must be lowercase`},
		{"role of 65 characters", "  - {identity: a@x.org, roles: [r" + strings.Repeat("x", 64) + "], keys: [KEY_A]}", "must be lowercase"},
		{"no key", "  - {identity: a@x.org, roles: [risk]}", "members[0] (a@x.org) has no key"},
		{"rsa key", "  - {identity: a@x.org, roles: [risk], keys: [RSA_KEY]}", "members[0] (a@x.org) keys[0]: ssh-rsa key: signoff keys are ssh-ed25519"},
		{"not a key", "  - {identity: a@x.org, roles: [risk], keys: [\"not a key\"]}", "members[0] (a@x.org) keys[0]: not an OpenSSH public key line"},
		{"bad identity", "  - {identity: \"a b@x.org\", roles: [risk], keys: [KEY_A]}", `members[0]: identity "a b@x.org" may hold only letters`},
		{"valid_until before valid_from", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A], valid_from: 2026-06-01T00:00:00Z, valid_until: 2026-01-01T00:00:00Z}", "members[0] (a@x.org): valid_until is not after valid_from"},
		{"valid_until at valid_from", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A], valid_from: 2026-06-01T00:00:00Z, valid_until: 2026-06-01T00:00:00Z}", "valid_until is not after valid_from"},
		{"valid_until before valid_from, other zones", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A], valid_from: 2026-06-01T02:00:00+02:00, valid_until: 2026-05-31T23:59:59Z}", "valid_until is not after valid_from"},
		{"not a time", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A], valid_from: yesterday}", `keyring.yaml: line 3: valid_from "yesterday" is not an RFC 3339 time`},
		{"unknown field", "  - {identity: a@x.org, roles: [risk], keys: [KEY_A], team: ml}", "line 3: field team not found"},
	} {
		data := []byte(keys.Replace(head+tc.members) + "\n")
		_, err := ParseKeyring("keyring.yaml", data)
		utWantError(t, tc.name, err, "keyring.yaml", false, tc.want)
		_, err = ParseDocument("keyring.yaml", data)
		utWantError(t, tc.name+" (ParseDocument)", err, "keyring.yaml", false, tc.want)
	}
	if _, err := ParseKeyring("keyring.yaml", []byte(keys.Replace("version: 0\nmembers: [{identity: a@x.org, roles: [risk], keys: [KEY_A]}]\n"))); err == nil || err.Error() != "keyring.yaml: version must be 1 or more" {
		t.Errorf("version 0: %v", err)
	}
	// A member whose keys are valid for a time.
	ok := "  - {identity: a@x.org, roles: [risk, model_owner-2], keys: [KEY_A], valid_from: 2026-06-01T00:00:00Z, valid_until: 2026-06-01T00:00:01Z}\n  - {identity: b@x.org, roles: [risk], keys: [KEY_B], valid_until: 2020-01-01T00:00:00Z}"
	if _, err := ParseKeyring("keyring.yaml", []byte(keys.Replace(head+ok))); err != nil {
		t.Errorf("valid keyring: %v", err)
	}
}

func TestPolicyTransitionErrors(t *testing.T) {
	const head = "version: 1\ntiers:\n  high:\n    transitions:\n      staging->production:\n"
	const ok = "        require: [{role: risk, count: 1}]\n"
	for _, tc := range []struct{ name, tr, want string }{
		{"require without role or any_of", "        require: [{count: 1}]\n", "tier high, staging->production: require[0]: give role or any_of"},
		{"require with role and any_of", "        require:\n          - {role: risk, count: 1}\n          - {role: risk, any_of: [compliance], count: 1}\n", "require[1]: give role or any_of"},
		{"require with empty any_of", "        require: [{any_of: [], count: 1}]\n", "require[0]: give role or any_of"},
		{"count 0", "        require: [{role: risk, count: 0}]\n", "require[0]: count must be 1 to 100"},
		{"no count", "        require: [{role: risk}]\n", "require[0]: count must be 1 to 100"},
		{"count 101", "        require: [{any_of: [risk], count: 101}]\n", "require[0]: count must be 1 to 100"},
		{"negative count", "        require: [{role: risk, count: -1}]\n", "require[0]: count must be 1 to 100"},
		{"bad role", "        require: [{role: Risk, count: 1}]\n", `require[0]: role "Risk" must be lowercase letters, digits, - and _`},
		{"bad any_of role", "        require: [{any_of: [risk, \"\"], count: 1}]\n", `require[0]: role "" must be lowercase`},
		{"bad require_review_of section", ok + "        require_review_of: [card, vibes]\n", `require_review_of: "vibes" is not one of overview, card, metrics, fairness, evidence, history`},
		{"require_review_of section in capitals", ok + "        require_review_of: [Card]\n", `require_review_of: "Card" is not one of`},
		{"emergency without valid_for", ok + "        emergency: {roles: [mlops], count: 1, review_within: 7d}\n", "emergency: valid_for and review_within must be set (72h, 7d)"},
		{"emergency without review_within", ok + "        emergency: {roles: [mlops], count: 1, valid_for: 72h}\n", "emergency: valid_for and review_within must be set"},
		{"emergency with valid_for 0", ok + "        emergency: {roles: [mlops], count: 1, valid_for: 0d, review_within: 7d}\n", "emergency: valid_for and review_within must be set"},
		{"emergency without roles", ok + "        emergency: {count: 1, valid_for: 72h, review_within: 7d}\n", "emergency names no role"},
		{"emergency with a bad role", ok + "        emergency: {roles: [MLOps], count: 1, valid_for: 72h, review_within: 7d}\n", `emergency: role "MLOps" must be lowercase`},
		{"emergency with a bad review role", ok + "        emergency: {roles: [mlops], count: 1, valid_for: 72h, review_within: 7d, review_roles: [\"x y\"]}\n", `emergency review_roles: role "x y" must be lowercase`},
		{"emergency count 0", ok + "        emergency: {roles: [mlops], valid_for: 72h, review_within: 7d}\n", "emergency: count must be 1 to 100"},
		{"negative approval_valid_for", ok + "        approval_valid_for: -1h\n", `line 7: duration "-1h": want a whole number of days (30d) or a Go duration (720h)`},
		{"bad emergency duration", ok + "        emergency: {roles: [mlops], count: 1, valid_for: 3 days, review_within: 7d}\n", `line 7: duration "3 days"`},
		{"unknown transition field", ok + "        approvals: 2\n", "line 7: field approvals not found"},
		{"unknown emergency field", ok + "        emergency: {roles: [mlops], count: 1, valid_for: 72h, review_within: 7d, ticket: yes}\n", "field ticket not found"},
	} {
		data := []byte(head + tc.tr)
		_, err := Parse("policy.yaml", data)
		utWantError(t, tc.name, err, "policy.yaml", true, tc.want)
		if err != nil && !strings.HasPrefix(err.Error(), "policy.yaml: line ") {
			t.Errorf("%s: %v: want the line of the transition", tc.name, err)
		}
		_, err = ParseDocument("policy.yaml", data)
		utWantError(t, tc.name+" (ParseDocument)", err, "policy.yaml", true, tc.want)
	}
	// The transition's errors name its line.
	_, err := Parse("policy.yaml", []byte("version: 1\ntiers:\n  high:\n    transitions:\n      a->b:\n        require: [{role: risk, count: 1}]\n      c->d:\n        require: [{count: 1}]\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "policy.yaml: line 8: tier high, c->d: require[0]") {
		t.Errorf("error in the second transition: %v", err)
	}
}

func TestDocumentKind(t *testing.T) {
	const ambiguous = "not a governance document: a root has admins:, a keyring members:, a policy tiers: (exactly one of them)"
	for _, tc := range []struct{ doc, kind, want string }{
		{"admins: []", KindRoot, ""},
		{"version: 1\nadmins:\n", KindRoot, ""},
		{"members: []", KindKeyring, ""},
		{"tiers: {}", KindPolicy, ""},
		{"# a comment\nversion: 7\ntiers:\n  high: {}\n", KindPolicy, ""},
		{"admins: []\nmembers: []", "", ambiguous},
		{"members: []\ntiers: {}", "", ambiguous},
		{"admins: []\ntiers: {}", "", ambiguous},
		{"admins: []\nmembers: []\ntiers: {}", "", ambiguous},
		{"version: 1\nthreshold: 1\n", "", ambiguous},
		{"Admins: []", "", ambiguous},
		{"admin: []", "", ambiguous},
		{"", "", ambiguous},
		{"# nothing\n", "", ambiguous},
		{"- admins\n- members\n", "", "doc.yaml: line 1: cannot unmarshal !!seq into map[string]yaml.Node"},
		{"admins", "", "cannot unmarshal !!str `admins`"},
		{"admins: [", "", "doc.yaml: "},
		{"admins: []\nadmins: []\n", "", `mapping key "admins" already defined`},
	} {
		kind, err := DocumentKind("doc.yaml", []byte(tc.doc))
		if tc.want == "" {
			if err != nil || kind != tc.kind {
				t.Errorf("DocumentKind(%q) = %q, %v; want %s", tc.doc, kind, err, tc.kind)
			}
			continue
		}
		if kind != "" {
			t.Errorf("DocumentKind(%q) = %q, want an error", tc.doc, kind)
		}
		utWantError(t, fmt.Sprintf("DocumentKind(%q)", tc.doc), err, "doc.yaml", false, tc.want)
		d, err := ParseDocument("doc.yaml", []byte(tc.doc))
		if d != nil {
			t.Errorf("ParseDocument(%q) = %+v", tc.doc, d)
		}
		utWantError(t, fmt.Sprintf("ParseDocument(%q)", tc.doc), err, "doc.yaml", false, tc.want)
	}
}

// TestDocumentSize: ParseDocument takes up to MaxDocument bytes.
func TestDocumentSize(t *testing.T) {
	doc := utKeys(t).Replace(utRootDoc)
	pad := func(n int) []byte {
		b := []byte(doc + "#")
		for len(b) < n-1 {
			b = append(b, 'x')
		}
		return append(b, '\n')
	}
	d, err := ParseDocument("root.yaml", pad(MaxDocument))
	if err != nil || d.Kind != KindRoot || len(d.Text) != MaxDocument {
		t.Fatalf("a root of MaxDocument bytes: %v", err)
	}
	_, err = ParseDocument("root.yaml", pad(MaxDocument+1))
	utWantError(t, "a root of MaxDocument+1 bytes", err, "root.yaml", false, fmt.Sprintf("root.yaml: %d bytes, more than %d", MaxDocument+1, MaxDocument))
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		s    string
		want time.Duration
	}{
		{"30d", 30 * day},
		{"0d", 0},
		{"1d", day},
		{"36500d", 36500 * day},
		{"720h", 720 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"0", 0},
		{"0s", 0},
		{"1.5h", 90 * time.Minute},
	} {
		got, err := ParseDuration(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.s, got, err, tc.want)
		}
	}
	for _, s := range []string{"-1h", "-1d", "-0.5s", "x", "", "d", "1.5d", "30 d", " 30d", "30D", "1w", "36501d", "1e3d", "99999999999999999999d", "720", "h", "720h ", "3 days"} {
		got, err := ParseDuration(s)
		want := fmt.Sprintf("duration %q: want a whole number of days (30d) or a Go duration (720h)", s)
		if err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want the error %q", s, got, err, want)
		}
	}
}
