#include "placement.h"

#include <algorithm>

namespace cache {

uint64_t Score(std::string_view member, std::string_view key) {
  uint64_t h = 14695981039346656037ull;
  auto mix_in = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix_in(member);
  mix_in(std::string_view("\0", 1));
  mix_in(key);
  // FNV-1a alone scores similar names alike; the finalizer spreads them.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

std::vector<roster::MemberInfo> Owners(
    std::string_view key, const std::vector<roster::MemberInfo>& members,
    size_t replicas) {
  std::vector<std::pair<uint64_t, const roster::MemberInfo*>> scored;
  scored.reserve(members.size());
  for (const roster::MemberInfo& m : members)
    scored.emplace_back(Score(m.name, key), &m);
  const size_t n = std::min(replicas, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first
                                 ? a.first > b.first
                                 : a.second->name < b.second->name;
                    });
  std::vector<roster::MemberInfo> owners;
  owners.reserve(n);
  for (size_t i = 0; i < n; ++i) owners.push_back(*scored[i].second);
  return owners;
}

}  // namespace cache
