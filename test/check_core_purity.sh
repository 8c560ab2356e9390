#!/usr/bin/env bash
# The core and the simulator must never touch the world: no sockets, no
# libuv, no wall clock, no OS randomness. This keeps every simulated run
# reproducible from its seed.
set -euo pipefail
root="$1"
pattern='uv\.h|sys/socket\.h|netinet/|arpa/inet\.h|_clock::now|absl::Now\(|std::random_device|[^a-zA-Z_:]rand\(|srand\(|time\(NULL\)|time\(nullptr\)|gettimeofday|clock_gettime'
if grep -rnE "$pattern" "$root/lib/core" "$root/sim"; then
  echo "lib/core or sim reaches for I/O, the wall clock or OS randomness" >&2
  exit 1
fi
echo "lib/core and sim are pure"
