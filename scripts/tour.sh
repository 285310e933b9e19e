#!/usr/bin/env bash
# A guided tour of signoff on a demo home: two demo signers, signed
# comments, the log, stock OpenSSH checking an entry, an air-gap export and
# import, and ledger verification. Keys here have no passphrase: demo only.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
demo=$2
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }
signoff() { "$bin" "$@"; }

export SIGNOFF_HOME=$demo/risk-officer
if [ ! -e "$SIGNOFF_HOME/keys/id_ed25519" ]; then
	echo "creating a demo workspace in $demo (DEMO KEYS, NO PASSPHRASE)"
	run signoff keygen --identity risk.officer@demo.example --no-passphrase
	run signoff keygen --identity clinician@demo.example --no-passphrase --out "$demo/clinician/keys/id_ed25519"
	run signoff comment --text "Reviewed credit-risk v7 model card and fairness table"
	SIGNOFF_HOME=$demo/clinician run signoff comment --text "Sepsis model v3: calibration looks right on the ICU cohort"
	SIGNOFF_HOME=$demo/clinician run signoff export --force "$demo/clinician.jsonl"
	run signoff import "$demo/clinician.jsonl"
fi

run signoff comment --text "Demo tour run at $(date -u +%FT%TZ)"
run signoff log
id=$(signoff log --json -n 1 | sed -E 's/^\{"id":"([^"]+)".*/\1/')
run signoff show "$id"
if command -v ssh-keygen >/dev/null; then
	signoff signers >"$demo/allowed_signers"
	signoff show "$id" --signature >"$demo/entry.sig"
	say "signoff show $id --payload | ssh-keygen -Y verify -f allowed_signers -I risk.officer@demo.example -n signoff.entry.v1 -s entry.sig"
	signoff show "$id" --payload | ssh-keygen -Y verify -f "$demo/allowed_signers" -I risk.officer@demo.example -n signoff.entry.v1 -s "$demo/entry.sig"
fi
run signoff ledger verify
echo
echo "Demo home: $demo/risk-officer. Try: $1 --home $demo/risk-officer log --json"
