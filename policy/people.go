package policy

import (
	"slices"
	"sync"

	"github.com/signoff-dev/signoff/ledger"
)

// people is who is who across keyrings: names that share a key in any
// keyring in force are one person (a member renamed keeps their key, and
// stays one approver with one standing decision).
type people struct {
	once    sync.Once
	name    map[string]string   // identity -> the person's name
	aliases map[string][]string // the person's name -> every identity they had
}

// Person returns the person identity is: the name the last keyring in
// force that lists them gives, linking every identity that shared a key
// with it in a keyring in force. An identity no keyring lists is a person
// of its own.
func (t *Trust) Person(identity string) string {
	t.people.once.Do(t.findPeople)
	if p, ok := t.people.name[identity]; ok {
		return p
	}
	return identity
}

// Aliases returns every identity of the person identity is.
func (t *Trust) Aliases(identity string) []string {
	t.people.once.Do(t.findPeople)
	if as, ok := t.people.aliases[t.Person(identity)]; ok {
		return as
	}
	return []string{identity}
}

func (t *Trust) findPeople() {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		parent[x] = find(parent[x])
		return parent[x]
	}
	owner := map[ledger.Feed]string{}
	latest := map[string]int{} // identity -> the last keyring (index) listing it
	for i, k := range t.Keyrings {
		kr := k.Doc.Keyring
		for f, m := range kr.feeds {
			id := kr.Members[m].Identity
			find(id)
			latest[id] = i
			if o, ok := owner[f]; ok {
				parent[find(o)] = find(id)
			} else {
				owner[f] = id
			}
		}
	}
	groups := map[string][]string{}
	for id := range parent {
		r := find(id)
		groups[r] = append(groups[r], id)
	}
	t.people.name, t.people.aliases = map[string]string{}, map[string][]string{}
	for _, ids := range groups {
		slices.Sort(ids)
		name := ids[0]
		for _, id := range ids {
			if latest[id] > latest[name] {
				name = id
			}
		}
		for _, id := range ids {
			t.people.name[id] = name
		}
		t.people.aliases[name] = ids
	}
}
