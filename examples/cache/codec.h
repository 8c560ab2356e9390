// The cache's messages between instances: a list of byte strings, each
// written as its decimal length, a colon and its bytes (a netstring without
// the comma), so that keys, values and names may hold any byte.
#ifndef ROSTER_CACHE_CODEC_H_
#define ROSTER_CACHE_CODEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cache {

std::string Encode(const std::vector<std::string_view>& fields);
// nullopt when `bytes` is not a whole list of fields (or has over
// `max_fields` of them).
std::optional<std::vector<std::string_view>> Decode(std::string_view bytes,
                                                    size_t max_fields = 8);

}  // namespace cache

#endif  // ROSTER_CACHE_CODEC_H_
