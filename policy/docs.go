package policy

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// A Requirement asks for Count sign-offs by distinct people holding Role,
// or any role of AnyOf.
type Requirement struct {
	Role  string   `yaml:"role" json:"role,omitempty"`
	AnyOf []string `yaml:"any_of" json:"any_of,omitempty"`
	Count int      `yaml:"count" json:"count"`
}

// Roles returns the roles that meet r.
func (r Requirement) Roles() []string {
	if r.Role != "" {
		return []string{r.Role}
	}
	return r.AnyOf
}

// String describes r: "1 of {model-owner}", "2 of {risk, compliance}".
func (r Requirement) String() string {
	return fmt.Sprintf("%d of {%s}", r.Count, strings.Join(r.Roles(), ", "))
}

// SeparationOfDuties says whether the bundle's authors and the requester
// may count as approvers. Both default to false.
type SeparationOfDuties struct {
	AuthorsMayApprove   bool `yaml:"authors_may_approve" json:"authors_may_approve"`
	RequesterMayApprove bool `yaml:"requester_may_approve" json:"requester_may_approve"`
}

// Emergency is a transition's break-glass path: Count people holding one of
// Roles may let a version through without the usual sign-offs for
// ValidFor; a signed incident review is owed within ReviewWithin.
type Emergency struct {
	Roles        []string `yaml:"roles" json:"roles"`
	Count        int      `yaml:"count" json:"count"`
	ValidFor     Duration `yaml:"valid_for" json:"valid_for"`
	ReviewWithin Duration `yaml:"review_within" json:"review_within"`
	// ReviewRoles may sign the incident review; by default, any role the
	// transition's requirements name.
	ReviewRoles []string `yaml:"review_roles" json:"review_roles,omitempty"`
}

// Duration is a length of time written as Go writes durations ("720h",
// "90m") or in days ("30d").
type Duration time.Duration

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as Go writes it.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// ParseDuration reads "720h", "90m" or "30d".
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("duration %q: want a whole number of days (30d) or a Go duration (720h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("duration %q: want a whole number of days (30d) or a Go duration (720h)", s)
	}
	return v, nil
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

func checkRoles(what string, roles []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("%s names no role", what)
	}
	for _, r := range roles {
		if !nameRE.MatchString(r) {
			return fmt.Errorf("%s: role %q must be lowercase letters, digits, - and _", what, r)
		}
	}
	return nil
}

func (t *Transition) check() error {
	for i, r := range t.Require {
		if (r.Role == "") == (len(r.AnyOf) == 0) {
			return fmt.Errorf("require[%d]: give role or any_of", i)
		}
		if err := checkRoles(fmt.Sprintf("require[%d]", i), r.Roles()); err != nil {
			return err
		}
		if r.Count < 1 || r.Count > 100 {
			return fmt.Errorf("require[%d]: count must be 1 to 100", i)
		}
	}
	for i, r := range t.RequireReviewOf {
		if slices.ContainsFunc(t.RequireReviewOf[:i], func(o ReviewRequirement) bool { return o.Section == r.Section }) {
			return fmt.Errorf("require_review_of: %s is named twice", r.Section)
		}
	}
	if e := t.Emergency; e != nil {
		if err := checkRoles("emergency", e.Roles); err != nil {
			return err
		}
		if len(e.ReviewRoles) > 0 {
			if err := checkRoles("emergency review_roles", e.ReviewRoles); err != nil {
				return err
			}
		}
		if e.Count < 1 || e.Count > 100 {
			return errors.New("emergency: count must be 1 to 100")
		}
		if e.ValidFor <= 0 || e.ReviewWithin <= 0 {
			return errors.New("emergency: valid_for and review_within must be set (72h, 7d)")
		}
	}
	return nil
}

// SoD returns the transition's separation of duties, defaults filled in.
func (t *Transition) SoD() SeparationOfDuties {
	if t.SeparationOfDuties == nil {
		return SeparationOfDuties{}
	}
	return *t.SeparationOfDuties
}

// RequiredRoles returns every role the transition's requirements name.
func (t *Transition) RequiredRoles() []string {
	var out []string
	for _, r := range t.Require {
		for _, role := range r.Roles() {
			if !slices.Contains(out, role) {
				out = append(out, role)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TransitionFor returns a tier's rules for a transition.
func (p *Policy) TransitionFor(tier, transition string) (*Transition, error) {
	t, ok := p.Tiers[tier]
	if !ok {
		return nil, fmt.Errorf("the policy has no risk tier %q (it has %s)", tier, keys(p.Tiers))
	}
	tr, ok := t.Transitions[transition]
	if !ok {
		return nil, fmt.Errorf("the policy's tier %q has no transition %s (it has %s)", tier, transition, keys(t.Transitions))
	}
	return &tr, nil
}

// Governance document kinds; each is also the kind of the ledger entry
// that adopts one.
const (
	KindRoot    = "root"
	KindKeyring = "keyring"
	KindPolicy  = "policy"
)

// MaxDocument bounds a governance document adopted into the ledger.
const MaxDocument = 512 << 10

// A Root names the admins and how many of them must adopt a root, keyring
// or policy for it to be in force.
type Root struct {
	Version   int     `yaml:"version" json:"version"`
	Threshold int     `yaml:"threshold" json:"threshold"`
	Admins    []Admin `yaml:"admins" json:"admins"`
	// RevokedKeys are admin keys that must not count from a point on,
	// including adoptions they signed before this root was in force.
	RevokedKeys []RevokedKey `yaml:"revoked_keys" json:"revoked_keys,omitempty"`

	feeds   map[ledger.Feed]string // admin key -> identity
	revoked map[ledger.Feed]revocation
}

// A RevokedKey is a key whose entries stop counting from a point on, as
// judged by any later document in force: a key found stolen is revoked
// from when it was stolen, not from when the document said so. The point
// is a position in the key's own feed (AfterSeq: every entry after that
// seq, as the revoking admins last saw the feed; 0 for all of them), which
// its holder cannot move, or a time (RevokedAt), which is only the
// signer's word: an entry that provably came later (one that answers a
// request signed after it) is revoked too, but one dated before it is
// believed. Either or both may be given; an entry either covers is
// revoked.
type RevokedKey struct {
	Key       string     `yaml:"key" json:"key"`
	RevokedAt *time.Time `yaml:"revoked_at" json:"revoked_at,omitempty"`
	AfterSeq  *uint64    `yaml:"after_seq" json:"after_seq,omitempty"`
	Reason    string     `yaml:"reason" json:"reason,omitempty"`
}

// A revocation is where a key's entries stop counting: after a seq of its
// feed, from a time, or both (either covers).
type revocation struct {
	at    time.Time // zero: not by time
	after uint64
	bySeq bool
}

// covers reports whether the entry of the key at seq, signed no earlier
// than notBefore, is revoked.
func (r revocation) covers(seq uint64, notBefore time.Time) bool {
	return r.bySeq && seq > r.after || !r.at.IsZero() && !notBefore.Before(r.at)
}

// merge returns the revocation that covers what r or o covers.
func (r revocation) merge(o revocation) revocation {
	if !o.at.IsZero() && (r.at.IsZero() || o.at.Before(r.at)) {
		r.at = o.at
	}
	if o.bySeq && (!r.bySeq || o.after < r.after) {
		r.after, r.bySeq = o.after, true
	}
	return r
}

// String says where r takes effect.
func (r revocation) String() string {
	var parts []string
	switch {
	case r.bySeq && r.after == 0:
		parts = append(parts, "for every entry of its feed")
	case r.bySeq:
		parts = append(parts, fmt.Sprintf("after entry %d of its feed", r.after))
	}
	if !r.at.IsZero() {
		parts = append(parts, "from "+r.at.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " and ")
}

// parseRevoked reads revoked keys into a map from feed to revocation.
func parseRevoked(rks []RevokedKey) (map[ledger.Feed]revocation, error) {
	out := map[ledger.Feed]revocation{}
	for i, rk := range rks {
		f, err := parseKey(rk.Key)
		if err != nil {
			return nil, fmt.Errorf("revoked_keys[%d]: %v", i, err)
		}
		var r revocation
		if rk.RevokedAt != nil {
			if rk.RevokedAt.IsZero() {
				return nil, fmt.Errorf("revoked_keys[%d]: revoked_at is the zero time", i)
			}
			r.at = *rk.RevokedAt
		}
		if rk.AfterSeq != nil {
			r.after, r.bySeq = *rk.AfterSeq, true
		}
		if rk.RevokedAt == nil && rk.AfterSeq == nil {
			return nil, fmt.Errorf("revoked_keys[%d]: say where the revocation takes effect: after_seq N (every entry after entry N of the key's feed, as signoff log show lists it; 0 for all of them, for a stolen key) or revoked_at TIME (believed for entries dated before it)", i)
		}
		out[f] = out[f].merge(r)
	}
	return out, nil
}

// An Admin is one root admin: an identity and its keys.
type Admin struct {
	Identity string   `yaml:"identity" json:"identity"`
	Keys     []string `yaml:"keys" json:"keys"`
}

// A Keyring maps people to roles and keys.
type Keyring struct {
	Version int      `yaml:"version" json:"version"`
	Members []Member `yaml:"members" json:"members"`
	// RevokedKeys are keys, listed under a member or no longer, whose
	// entries from a point on do not count.
	RevokedKeys []RevokedKey `yaml:"revoked_keys" json:"revoked_keys,omitempty"`

	feeds   map[ledger.Feed]int // key -> member index
	revoked map[ledger.Feed]revocation
}

// A Member is one person: identity (an e-mail address), roles, keys, and
// when those keys may sign.
type Member struct {
	Identity   string     `yaml:"identity" json:"identity"`
	Name       string     `yaml:"name" json:"name,omitempty"`
	Roles      []string   `yaml:"roles" json:"roles"`
	Keys       []string   `yaml:"keys" json:"keys"`
	ValidFrom  *time.Time `yaml:"valid_from" json:"valid_from,omitempty"`
	ValidUntil *time.Time `yaml:"valid_until" json:"valid_until,omitempty"`
	RevokedAt  *time.Time `yaml:"revoked_at" json:"revoked_at,omitempty"`
}

// A Document is a parsed root, keyring or policy with its digest (the
// SHA-256 of its exact bytes).
type Document struct {
	Kind    string
	Version int
	Digest  string
	Text    []byte
	Root    *Root
	Keyring *Keyring
	Policy  *Policy
}

// DocumentKind tells a governance document by its top-level fields: a root
// has admins, a keyring members, a policy tiers.
func DocumentKind(name string, data []byte) (string, error) {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return "", evidence.YAMLError(name, err)
	}
	var kinds []string
	for k, kind := range map[string]string{"admins": KindRoot, "members": KindKeyring, "tiers": KindPolicy} {
		if _, ok := top[k]; ok {
			kinds = append(kinds, kind)
		}
	}
	if len(kinds) != 1 {
		return "", &evidence.ParseError{File: name, Msg: "not a governance document: a root has admins:, a keyring members:, a policy tiers: (exactly one of them)"}
	}
	return kinds[0], nil
}

// ParseDocument reads a root, keyring or policy.
func ParseDocument(name string, data []byte) (*Document, error) {
	if len(data) > MaxDocument {
		return nil, &evidence.ParseError{File: name, Msg: fmt.Sprintf("%d bytes, more than %d", len(data), MaxDocument)}
	}
	kind, err := DocumentKind(name, data)
	if err != nil {
		return nil, err
	}
	d := &Document{Kind: kind, Digest: ledger.BlobDigest(data), Text: data}
	switch kind {
	case KindRoot:
		d.Root, err = ParseRoot(name, data)
		if err == nil {
			d.Version = d.Root.Version
		}
	case KindKeyring:
		d.Keyring, err = ParseKeyring(name, data)
		if err == nil {
			d.Version = d.Keyring.Version
		}
	default:
		d.Policy, err = Parse(name, data)
		if err == nil {
			d.Version = d.Policy.Version
		}
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func decodeStrict(name string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return evidence.YAMLError(name, err)
	}
	return nil
}

// ParseRoot reads and checks a root document.
func ParseRoot(name string, data []byte) (*Root, error) {
	var r Root
	if err := decodeStrict(name, data, &r); err != nil {
		return nil, err
	}
	perr := func(format string, args ...any) error {
		return &evidence.ParseError{File: name, Msg: fmt.Sprintf(format, args...)}
	}
	if r.Version < 1 {
		return nil, perr("version must be 1 or more")
	}
	if len(r.Admins) == 0 {
		return nil, perr("a root names at least one admin")
	}
	if r.Threshold < 1 || r.Threshold > len(r.Admins) {
		return nil, perr("threshold %d must be 1 to the number of admins (%d)", r.Threshold, len(r.Admins))
	}
	var err error
	if r.revoked, err = parseRevoked(r.RevokedKeys); err != nil {
		return nil, perr("%v", err)
	}
	r.feeds = map[ledger.Feed]string{}
	seen := map[string]bool{}
	for i, a := range r.Admins {
		if err := ledger.CheckIdentity(a.Identity); err != nil {
			return nil, perr("admins[%d]: %v", i, err)
		}
		if seen[a.Identity] {
			return nil, perr("admins[%d]: %s is listed twice", i, a.Identity)
		}
		seen[a.Identity] = true
		if len(a.Keys) == 0 {
			return nil, perr("admins[%d] (%s) has no key", i, a.Identity)
		}
		for j, k := range a.Keys {
			f, err := parseKey(k)
			if err != nil {
				return nil, perr("admins[%d] (%s) keys[%d]: %v", i, a.Identity, j, err)
			}
			if other, ok := r.feeds[f]; ok {
				return nil, perr("admins[%d] keys[%d]: the key is also %s's", i, j, other)
			}
			r.feeds[f] = a.Identity
		}
	}
	return &r, nil
}

// AdminOf returns the admin identity holding the key of feed.
func (r *Root) AdminOf(f ledger.Feed) (string, bool) {
	id, ok := r.feeds[f]
	return id, ok
}

// ParseKeyring reads and checks a keyring document.
func ParseKeyring(name string, data []byte) (*Keyring, error) {
	if err := checkTimes(name, data); err != nil {
		return nil, err
	}
	var k Keyring
	if err := decodeStrict(name, data, &k); err != nil {
		return nil, err
	}
	perr := func(format string, args ...any) error {
		return &evidence.ParseError{File: name, Msg: fmt.Sprintf(format, args...)}
	}
	if k.Version < 1 {
		return nil, perr("version must be 1 or more")
	}
	var err error
	if k.revoked, err = parseRevoked(k.RevokedKeys); err != nil {
		return nil, perr("%v", err)
	}
	k.feeds = map[ledger.Feed]int{}
	seen := map[string]bool{}
	for i, m := range k.Members {
		if err := ledger.CheckIdentity(m.Identity); err != nil {
			return nil, perr("members[%d]: %v", i, err)
		}
		if seen[m.Identity] {
			return nil, perr("members[%d]: %s is listed twice; give one entry all their roles and keys", i, m.Identity)
		}
		seen[m.Identity] = true
		if err := checkRoles(fmt.Sprintf("members[%d] (%s)", i, m.Identity), m.Roles); err != nil {
			return nil, perr("%v", err)
		}
		if len(m.Keys) == 0 {
			return nil, perr("members[%d] (%s) has no key", i, m.Identity)
		}
		for j, key := range m.Keys {
			f, err := parseKey(key)
			if err != nil {
				return nil, perr("members[%d] (%s) keys[%d]: %v", i, m.Identity, j, err)
			}
			if other, ok := k.feeds[f]; ok {
				return nil, perr("members[%d] keys[%d]: the key is also %s's", i, j, k.Members[other].Identity)
			}
			k.feeds[f] = i
		}
		if m.ValidFrom != nil && m.ValidUntil != nil && !m.ValidUntil.After(*m.ValidFrom) {
			return nil, perr("members[%d] (%s): valid_until is not after valid_from", i, m.Identity)
		}
	}
	return &k, nil
}

// checkTimes finds a member's time that is not RFC 3339 and names its line,
// which the YAML decoder's own error does not.
func checkTimes(name string, data []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 {
		return nil // the decoder reports it
	}
	var items []*yaml.Node
	for _, list := range []string{"members", "revoked_keys"} {
		if n := mappingValue(doc.Content[0], list); n != nil && n.Kind == yaml.SequenceNode {
			items = append(items, n.Content...)
		}
	}
	for _, m := range items {
		for _, key := range []string{"valid_from", "valid_until", "revoked_at"} {
			v := mappingValue(m, key)
			if v == nil || v.Kind != yaml.ScalarNode {
				continue
			}
			_, err := time.Parse(time.RFC3339, v.Value)
			if _, derr := time.Parse(time.DateOnly, v.Value); err != nil && derr != nil {
				return &evidence.ParseError{File: name, Line: v.Line, Msg: fmt.Sprintf("%s %q is not an RFC 3339 time (2026-01-31T00:00:00Z) or a date (2026-01-31, midnight UTC)", key, v.Value)}
			}
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// MemberOf returns the member holding the key of feed.
func (k *Keyring) MemberOf(f ledger.Feed) (*Member, bool) {
	i, ok := k.feeds[f]
	if !ok {
		return nil, false
	}
	return &k.Members[i], true
}

// Member returns the member with identity.
func (k *Keyring) Member(identity string) (*Member, bool) {
	for i := range k.Members {
		if k.Members[i].Identity == identity {
			return &k.Members[i], true
		}
	}
	return nil, false
}

// ValidAt says why m's keys may not sign at t, or "" if they may.
func (m *Member) ValidAt(t time.Time) string {
	switch {
	case m.RevokedAt != nil && !t.Before(*m.RevokedAt):
		return "revoked at " + m.RevokedAt.UTC().Format(time.RFC3339)
	case m.ValidFrom != nil && t.Before(*m.ValidFrom):
		return "not valid until " + m.ValidFrom.UTC().Format(time.RFC3339)
	case m.ValidUntil != nil && !t.Before(*m.ValidUntil):
		return "expired at " + m.ValidUntil.UTC().Format(time.RFC3339)
	}
	return ""
}

// HasRole reports whether m holds role.
func (m *Member) HasRole(role string) bool { return slices.Contains(m.Roles, role) }

// parseKey reads an OpenSSH ed25519 public key line and returns its feed.
func parseKey(line string) (ledger.Feed, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return ledger.Feed{}, fmt.Errorf("not an OpenSSH public key line: %v", err)
	}
	if pk.Type() != ssh.KeyAlgoED25519 {
		return ledger.Feed{}, fmt.Errorf("%s key: signoff keys are ssh-ed25519", pk.Type())
	}
	return ledger.FeedOf(pk.Marshal()), nil
}
