// Where a key lives: rendezvous (highest-random-weight) hashing over the
// live members. Each member scores each key; the `replicas` best scores
// own it. A member that comes or goes moves only the keys it scores best
// on, and every instance that sees the same members picks the same owners.
#ifndef ROSTER_CACHE_PLACEMENT_H_
#define ROSTER_CACHE_PLACEMENT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "roster/member.h"

namespace cache {

// A fixed hash (FNV-1a, then a 64-bit finalizer), the same in every process.
uint64_t Score(std::string_view member, std::string_view key);

// The owners of `key` among `members`, best score first.
std::vector<roster::MemberInfo> Owners(
    std::string_view key, const std::vector<roster::MemberInfo>& members,
    size_t replicas);

}  // namespace cache

#endif  // ROSTER_CACHE_PLACEMENT_H_
