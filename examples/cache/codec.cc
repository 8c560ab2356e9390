#include "codec.h"

namespace cache {

std::string Encode(const std::vector<std::string_view>& fields) {
  std::string out;
  for (std::string_view f : fields) {
    out += std::to_string(f.size());
    out += ':';
    out.append(f.data(), f.size());
  }
  return out;
}

std::optional<std::vector<std::string_view>> Decode(std::string_view bytes,
                                                    size_t max_fields) {
  std::vector<std::string_view> fields;
  while (!bytes.empty()) {
    if (fields.size() == max_fields) return std::nullopt;
    size_t len = 0;
    size_t i = 0;
    for (; i < bytes.size() && bytes[i] != ':'; ++i) {
      if (bytes[i] < '0' || bytes[i] > '9' || i >= 9) return std::nullopt;
      len = len * 10 + static_cast<size_t>(bytes[i] - '0');
    }
    if (i == 0 || i == bytes.size() || bytes.size() - i - 1 < len)
      return std::nullopt;
    fields.push_back(bytes.substr(i + 1, len));
    bytes.remove_prefix(i + 1 + len);
  }
  return fields;
}

}  // namespace cache
