#!/usr/bin/env bash
# Fails when the checked-in seed corpus differs from what make_corpus writes
# now. To update it: build/test/fuzz/make_corpus test/fuzz/corpus
set -euo pipefail
make_corpus="$1"
corpus="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$make_corpus" "$tmp"
for dir in "$tmp"/*; do
  diff -r "$dir" "$corpus/$(basename "$dir")"
done
echo "the seed corpus is what make_corpus writes"
