#!/usr/bin/env bash
# Interop with Go's golang.org/x/mod/sumdb/note and sumdb/tlog, both ways:
#
#  1. Rust -> Go: the Rust test `checkpoint::interop_export` writes a verifier
#     key, a signed checkpoint (13-leaf RFC 6962 tree), an entry hash, its
#     index, its audit path and the same as a c2sp.org/tlog-proof@v1 file;
#     verify.go checks them with note.Open and tlog.CheckRecord.
#  2. Negative: tampered copies (note text, root, signature, audit path,
#     entry hash, index, tlog-proof file, another key) must make Go reject.
#  3. Go -> Rust: `verify -gen` signs a checkpoint with note.Sign over a tree
#     built by sumdb/tlog and writes a tlog-proof file from tlog.ProveRecord;
#     the Rust test `checkpoint::interop_import` verifies it (and tampered
#     copies must fail there).
#
# Run from anywhere once the crate compiles; by default it tests the crate
# two directories up (the repository root). Environment:
#   AI_AUDIT_CRATE_DIR   crate to run `cargo test` in (default: repo root)
#   AI_AUDIT_CARGO_FLAGS extra flags for cargo test (e.g. --no-default-features)
#   AI_AUDIT_GOCODE      Debian Go source tree (default: /usr/share/gocode)
# Installs nothing. Needs the Debian packages golang-go and
# golang-golang-x-mod-dev. Exits non-zero on any mismatch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="${AI_AUDIT_CRATE_DIR:-$(cd "$here/../.." && pwd)}"
gocode="${AI_AUDIT_GOCODE:-/usr/share/gocode}"
# shellcheck disable=SC2206
cargo_flags=(${AI_AUDIT_CARGO_FLAGS:-})

die() { echo "run.sh: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  die "'go' not found. Install it with: apt-get install -y golang-go golang-golang-x-mod-dev"
[ -f "$gocode/src/golang.org/x/mod/sumdb/note/note.go" ] && [ -f "$gocode/src/golang.org/x/mod/sumdb/tlog/tlog.go" ] ||
  die "golang.org/x/mod sources not found under $gocode. Install them with: apt-get install -y golang-golang-x-mod-dev"
command -v cargo >/dev/null 2>&1 || die "'cargo' not found"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C

echo "== building interop/go/verify.go with $(go version) against $gocode"
(cd "$here" && GO111MODULE=off GOPATH="$gocode" GOCACHE="$tmp/gocache" GOFLAGS= \
  go build -o "$tmp/verify" verify.go) || die "go build failed"

# Runs one cargo test by exact name with an environment variable set, and
# insists that exactly that one test ran and passed.
run_rust_test() {
  local var="$1" dir="$2" name="$3" out
  echo "== cargo test --test it $name (in $crate)"
  if ! out="$(cd "$crate" && env "$var=$dir" cargo test "${cargo_flags[@]}" --test it "$name" -- --exact 2>&1)"; then
    tail -40 <<<"$out" >&2
    die "cargo test $name failed"
  fi
  grep -q "test result: ok. 1 passed" <<<"$out" || { tail -20 <<<"$out" >&2; die "test $name did not run"; }
}

# --- 1. Rust -> Go -----------------------------------------------------------
rust="$tmp/rust"
run_rust_test AI_AUDIT_INTEROP_DIR "$rust" checkpoint::interop_export
for f in vkey origin checkpoint.note entry_hash index proof entry.tlog-proof; do
  [ -s "$rust/$f" ] || die "the Rust test did not write $f"
done
echo "-- checkpoint.note:"; sed 's/^/   /' "$rust/checkpoint.note"
"$tmp/verify" -dir "$rust" -mode all || die "Go rejected the files Rust produced"

# --- 2. Negative checks --------------------------------------------------------
# flip FILE LINE COL: replace the byte at 1-based COL of line LINE with another
# character valid in hex and base64 ('0' <-> '1').
flip() {
  local file="$1" line="$2" col="$3" text c new
  text="$(sed -n "${line}p" "$file")"
  [ "${#text}" -ge "$col" ] || die "flip: $file line $line is shorter than $col"
  c="${text:col-1:1}"
  if [ "$c" = 0 ]; then new=1; else new=0; fi
  text="${text:0:col-1}$new${text:col}"
  awk -v n="$line" -v s="$text" 'NR == n { print s; next } { print }' "$file" >"$file.tmp"
  mv "$file.tmp" "$file"
}
line_of() { grep -m1 -nxF -- "$2" "$1" | cut -d: -f1; }

failures=0
expect_reject() {
  local what="$1" mode="$2" mutate="$3" d="$tmp/neg"
  rm -rf "$d"; cp -r "$rust" "$d"
  (cd "$d" && eval "$mutate")
  if diff -rq "$rust" "$d" >/dev/null; then die "mutation '$what' changed nothing"; fi
  if "$tmp/verify" -dir "$d" -mode "$mode" 2>"$tmp/neg.err" >/dev/null; then
    echo "   MISMATCH: Go accepted: $what" >&2
    failures=$((failures + 1))
  else
    echo "   ok, Go rejects: $what ($(tail -1 "$tmp/neg.err"))"
  fi
}

echo "== negative checks (each must be rejected by Go)"
sigline=$(wc -l <"$rust/checkpoint.note")
siglen=$(sed -n "${sigline}p" "$rust/checkpoint.note" | wc -c)
expect_reject "tree size in the note text" files "sed -i '2s/\$/0/' checkpoint.note"
expect_reject "one byte of the root in the note" files "flip checkpoint.note 3 10"
expect_reject "one byte of the signature" files "flip checkpoint.note $sigline $((siglen - 20))"
expect_reject "one byte of the key id" files "flip checkpoint.note $sigline $(( $(sed -n "${sigline}p" "$rust/checkpoint.note" | cut -d' ' -f1-2 | wc -c) + 2 ))"
expect_reject "one hash of the audit path" files "flip proof 1 5"
expect_reject "a hash dropped from the audit path" files "sed -i '\$d' proof"
expect_reject "the entry hash" files "flip entry_hash 1 1"
expect_reject "the index" files "echo 7 > index"
expect_reject "the expected origin" files "echo other.example/log/t/acme-bank/e/3 > origin"
"$tmp/verify" -gen "$tmp/otherkey" >/dev/null
expect_reject "another pinned key" files "cp '$tmp/otherkey/vkey' vkey"
root_line=$(line_of "$rust/entry.tlog-proof" "$(sed -n 3p "$rust/checkpoint.note")")
path_line=$(( $(grep -n '^index ' "$rust/entry.tlog-proof" | cut -d: -f1) + 1 ))
expect_reject "tlog-proof: one byte of the root" proof "flip entry.tlog-proof $root_line 10"
expect_reject "tlog-proof: one hash of the audit path" proof "flip entry.tlog-proof $path_line 5"
expect_reject "tlog-proof: the index line" proof "sed -i 's/^index 6\$/index 7/' entry.tlog-proof"
[ "$failures" -eq 0 ] || die "$failures negative check(s) were accepted by Go"

# --- 3. Go -> Rust -----------------------------------------------------------
gen="$tmp/go"
"$tmp/verify" -gen "$gen"
"$tmp/verify" -dir "$gen" -mode proof >/dev/null || die "Go does not verify its own tlog-proof"
echo "-- Go's entry.tlog-proof:"; sed 's/^/   /' "$gen/entry.tlog-proof"
run_rust_test AI_AUDIT_INTEROP_GO_DIR "$gen" checkpoint::interop_import

echo "run.sh: OK: Rust and Go (golang.org/x/mod/sumdb/note + tlog) agree; all tampered inputs rejected"
