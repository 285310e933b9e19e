// Package ledger keeps signoff's local, append-only ledger of signed
// entries: who signed what, in what order, provably.
//
// The ledger knows nothing of models, policies or decisions; it stores
// entries of any kind and proves they are intact. It needs no network:
// entries travel between machines by [Ledger.Export] and [Ledger.Import].
//
// # Entries
//
// An entry is a payload, the bytes exactly as signed, and an OpenSSH
// SSHSIG signature over them (ed25519, sha512, namespace
// "signoff.entry.v1"). Nothing is re-serialised before a signature is
// checked. The payload is compact JSON with one written form:
//
//	{"v":1,"kind":"comment","feed":"SHA256:…","seq":2,"prev":"sha256:…",
//	 "time":"2026-11-21T09:00:00Z","identity":"alice@example.com",
//	 "body":{"text":"…"}}
//
// Header strings hold printable ASCII without escapes, the fields come in
// this order, identity is omitted when empty, and the body is a compact
// JSON object; [ParsePayload] accepts nothing else, so two readers cannot
// disagree about what an entry says. An entry's [ID] is "sha256:" and the
// hex SHA-256 of its payload.
//
// Any entry can be checked without signoff: `signoff signers` writes an
// allowed_signers file, and
//
//	ssh-keygen -Y verify -f allowed_signers -I alice@example.com \
//	    -n signoff.entry.v1 -s entry.sig < payload
//
// # Feeds
//
// Each signer key writes one [Feed], named by the key's OpenSSH SHA256
// fingerprint: seq runs 1, 2, 3… and prev names the feed's previous entry,
// so a feed's head commits to its whole history. Feeds need no
// coordination: signers sign offline and merge later. Two different entries
// with the same feed and seq are equivocation, proof that the key signed
// two histories; both are kept as evidence and reported by every
// [Ledger.Verify], and [Ledger.Append] refuses to extend such a feed.
//
// Entries that arrive from elsewhere must extend their feeds under three
// chain rules: within one batch a feed's entries come in seq order; seq 1
// has no prev and seq N > 1 names as prev an entry of the same feed at
// seq N-1, in the batch or in the ledger; and a feed's signing times never
// go back. [Ledger.Import] applies them to a file, and a [ChainCheck] to
// one entry at a time, through the same code; a broken rule is an error
// wrapping [ErrChain].
//
// # Store
//
// Entries live in Badger under keys laid out for the reads the product
// makes: feed, seq and id (the entry itself, so a feed walk is one
// sequential read), then indexes by id, arrival, signing time, kind and
// subject, and evidence blobs by their digest.
// The API appends and reads; it never updates or deletes an entry.
// [Ledger.Append] returns only once the entry is fsynced.
//
// A ledger is held by one process that writes ([Open], which creates it
// if needed) or by any number that only read ([OpenReadOnly], which
// creates nothing and refuses every write with [ErrReadOnly]); the others
// get [ErrLocked]. A ledger a writer did not close is recovered by the
// next open, read-only or not: what an import had staged but not
// committed is removed.
//
// # Verification
//
// [Ledger.Verify] checks every signature, that each payload hashes to its
// id and sits at the feed and seq its key names, every prev link, and that
// no seq is missing or doubled. A clean run writes a checkpoint, signed with
// a key of this ledger's own, holding each feed's highest seq and head ids;
// the next run re-checks only those heads and what came after them, so it
// costs in proportion to what arrived (a ledger open read-only writes no
// checkpoint). Signatures are checked on all cores,
// each worker decoding a signer's key once and, for keys with many
// entries, using a table of its multiples (see decodedKey): the same
// decision as crypto/ed25519 at about half the cost. [VerifyEntries] checks
// a batch of entries not yet stored the same way.
//
// # Import
//
// [Ledger.Import] reads JSON Lines envelopes ({"payload": base64,
// "signature": base64}), checks each line's signature and the chain rules,
// and applies nothing from a file with a bad line. New entries are
// staged while later lines are still being checked and committed by one
// synced write; a failed import, or the next open after a crash, removes
// what was staged.
package ledger
