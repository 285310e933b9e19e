// Package policy holds signoff's governance documents and what they
// decide: which root, keyring and policy are in force, whose signatures
// count, and whether a model version may make a transition.
//
// # Gates
//
// A gate is one check of a bundle's evidence, declared in the policy:
//
//   - {name: auc-floor, metric: roc_auc, min: 0.70}
//   - {name: auc-vs-champion, metric: roc_auc, baseline: {max_drop: 0.01}, confidence: 0.95}
//   - {name: ctr-up, metric: ctr, baseline: {min_gain_rel: 0.02}}
//   - {name: disparate-impact, fairness: disparate_impact, groups: [sex], min: 0.8}
//   - {name: sbom, evidence: scans}
//   - {name: recall-and-eo, expr: "metrics.candidate.recall >= 0.6"}
//
// [Evaluate] is a pure function of the bundle's evidence and the policy:
// the console, the CLI and a server compute the same results. A gate whose
// inputs are missing or undefined is undefined, with the reason, and an
// undefined gate does not pass.
//
// # What orders what
//
// A signing time is the signer's word: a former admin, a revoked
// approver or a thief dates an entry whenever suits them. No rule of
// trust is decided by signing times alone. What orders entries is what a
// signer cannot choose:
//
//   - Positions in feeds. A key cannot put an entry before its own
//     earlier entries without signing two entries at one seq, which is
//     equivocation and always caught.
//   - References by id. An entry that names another (a decision the
//     request it answers, a root's adoption the keyring and policy in
//     force) was signed after it.
//   - Time from outside, where there is one: the verifier's clock (an
//     entry dated after the moment judged does not count yet).
//
// Claimed times remain for display, for windows within one signer's own
// acts (how long an approval or an emergency lasts), and for questions
// asked "as of" a past time.
//
// # The rules, and why
//
// Roots form a chain by version, with no reference to time ([Trust]): the
// first root once its own threshold of admins adopted it, each next
// version once its own threshold and that of the root before it did. An
// admin's consent to a successor is their first adoption of a root of
// that version, in their feed: a later rival does not count.
//
// Each keyring or policy adoption is judged under one root: the newest
// root its signer adopted before it, in their own feed, or, for a signer
// who never adopted that root, any root they are an admin of. So an
// admin who consented to a new root that drops them has no power left
// however they date what they sign next, and an adoption signed before
// its signer consented to a root is judged under the earlier one.
//
// A new root re-anchors governance. What stays in force under it is what
// its adopters named in force (the in_force digests of their adoptions,
// which signoff adopt writes), or what the threshold of the old root's
// admins adopted in entries that precede, each in its signer's feed,
// that signer's adoption of the new root. Where adopters named a
// document, what the old root's admins adopted after it, unseen by them,
// is not carried and never comes into force. Where they named nothing
// (adoptions signed before roots named anything) and a document cannot be
// shown to come first, the records cannot settle what is in force:
// versions never go down, so every verdict fails closed
// ([Trust.Unsettled]) until the new root's admins adopt that document
// again or its successor.
//
// An admin whose key signed two histories does not roll governance back:
// their adoptions keep counting where they did, and every verdict fails
// as tampered ([Verdict.Tampered], exit 2) while the root in force lists
// the key and does not revoke it ([Trust.Forked]).
//
// A revocation (revoked_keys in a root or keyring) says where it takes
// effect in the key's feed (after_seq: every entry after that seq, or all
// of them for 0) or from a time (revoked_at). A position cannot be moved;
// a time is believed only for entries that cannot be shown to be later.
// A decision names the request it answers (its ref): it was signed after
// that request, and is judged no earlier than it, so an approver revoked
// before a request was made cannot answer it. The request must be one
// for the same subject whose signer counts, so that an approver cannot
// lower the bound with a request of their own making. An approval that
// names no request (signed before decisions did) does not count from a
// key any keyring revokes by time: its signing time alone cannot show it
// came before the revocation.
//
// Every rule here is applied in one place: [LoadTrust] for the history,
// [Trust.Counts] for whose signature counts, and [Judge] for the verdict
// that the console, status, verify and serve all give.
package policy
