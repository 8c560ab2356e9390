#!/usr/bin/env bash
# The core and the simulator must never touch the world: no sockets, no
# libuv, no wall clock, no OS randomness. This keeps every simulated run
# reproducible from its seed.
#
# One exception, on purpose: sealing a frame with a keyring takes its
# 24-byte nonce from the operating system's generator (libsodium's
# randombytes_buf, called in lib/crypto, outside these folders). A nonce
# must never repeat under one key, and a seeded generator replayed from the
# same seed would repeat it. So a keyed simulated run is deterministic in
# behaviour and sizes, not in ciphertext bytes; tests that need fixed bytes
# pass their own nonce source (core::SealFrame's test_nonces). Nothing else
# in lib/crypto is reachable from the core's decisions.
set -euo pipefail
root="$1"
pattern='uv\.h|sys/socket\.h|netinet/|arpa/inet\.h|_clock::now|absl::Now\(|std::random_device|[^a-zA-Z_:]rand\(|srand\(|time\(NULL\)|time\(nullptr\)|gettimeofday|clock_gettime'
if grep -rnE "$pattern" "$root/lib/core" "$root/sim"; then
  echo "lib/core or sim reaches for I/O, the wall clock or OS randomness" >&2
  exit 1
fi
echo "lib/core and sim are pure"
