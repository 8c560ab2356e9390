#include "core/networks.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/string_view.h"

namespace roster::core {
namespace {

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  bool ended = false;
  while (parts < 4 && !ended) {
    size_t end = text.find('.');
    std::string_view part = text.substr(0, end);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    uint32_t octet = 0;
    for (char c : part) octet = octet * 10 + static_cast<uint32_t>(c - '0');
    if (octet > 255) return std::nullopt;
    value = (value << 8) | octet;
    ++parts;
    ended = end == std::string_view::npos;
    if (!ended) text.remove_prefix(end + 1);
  }
  if (parts != 4 || !ended) return std::nullopt;
  return value;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Groups of one IPv6 half (either side of "::"), as 16-bit words; a dotted
// IPv4 tail counts as two words.
std::optional<std::vector<uint16_t>> ParseGroups(std::string_view text) {
  std::vector<uint16_t> words;
  if (text.empty()) return words;
  while (true) {
    size_t end = text.find(':');
    std::string_view group = text.substr(0, end);
    if (end == std::string_view::npos &&
        group.find('.') != std::string_view::npos) {
      auto v4 = ParseIpv4(group);
      if (!v4.has_value()) return std::nullopt;
      words.push_back(static_cast<uint16_t>(*v4 >> 16));
      words.push_back(static_cast<uint16_t>(*v4));
      return words;
    }
    if (group.empty() || group.size() > 4) return std::nullopt;
    uint16_t word = 0;
    for (char c : group) {
      int digit = HexDigit(c);
      if (digit < 0) return std::nullopt;
      word = static_cast<uint16_t>((word << 4) | digit);
    }
    words.push_back(word);
    if (words.size() > 8) return std::nullopt;
    if (end == std::string_view::npos) return words;
    text.remove_prefix(end + 1);
  }
}

std::optional<IpBytes> ParseIpv6(std::string_view text) {
  text = text.substr(0, text.find('%'));
  std::vector<uint16_t> words;
  size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    auto all = ParseGroups(text);
    if (!all.has_value() || all->size() != 8) return std::nullopt;
    words = *all;
  } else {
    auto head = ParseGroups(text.substr(0, gap));
    auto tail = ParseGroups(text.substr(gap + 2));
    if (!head.has_value() || !tail.has_value() ||
        head->size() + tail->size() > 7) {
      return std::nullopt;
    }
    words = *head;
    words.resize(8 - tail->size(), 0);
    words.insert(words.end(), tail->begin(), tail->end());
  }
  IpBytes bytes{};
  for (size_t i = 0; i < 8; ++i) {
    bytes[2 * i] = static_cast<uint8_t>(words[i] >> 8);
    bytes[2 * i + 1] = static_cast<uint8_t>(words[i]);
  }
  return bytes;
}

IpBytes MappedIpv4(uint32_t v4) {
  IpBytes bytes{};
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  for (int i = 0; i < 4; ++i) {
    bytes[12 + i] = static_cast<uint8_t>(v4 >> (24 - 8 * i));
  }
  return bytes;
}

bool PrefixMatches(const IpBytes& a, const IpBytes& b, int bits) {
  int whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpBytes> ParseIp(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    auto v4 = ParseIpv4(text);
    if (!v4.has_value()) return std::nullopt;
    return MappedIpv4(*v4);
  }
  return ParseIpv6(text);
}

std::optional<IpBytes> ParseHostIp(std::string_view host_port) {
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return ParseIpv6(host_port.substr(1, close - 1));
  }
  size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = host_port.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return std::nullopt;
  return ParseIp(host);
}

absl::StatusOr<NetworkList> NetworkList::Parse(
    const std::vector<std::string>& cidrs) {
  NetworkList list;
  for (const std::string& cidr : cidrs) {
    std::string_view text = cidr;
    size_t slash = text.find('/');
    std::string_view host = text.substr(0, slash);
    auto prefix = ParseIp(host);
    const bool v4 = host.find(':') == std::string_view::npos;
    int width = v4 ? 32 : 128;
    int bits = width;
    if (slash != std::string_view::npos &&
        (!absl::SimpleAtoi(util::ToAbsl(text.substr(slash + 1)), &bits) ||
         bits < 0 || bits > width)) {
      prefix.reset();
    }
    if (!prefix.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("allowed network \"", cidr,
                       "\" is not a CIDR such as 10.0.0.0/8 or fd00::/8"));
    }
    list.networks_.push_back({*prefix, v4 ? 96 + bits : bits});
  }
  return list;
}

bool NetworkList::Admits(std::string_view host_port) const {
  if (networks_.empty()) return true;
  auto ip = ParseHostIp(host_port);
  if (!ip.has_value()) return false;
  return std::any_of(networks_.begin(), networks_.end(), [&](const Network& n) {
    return PrefixMatches(*ip, n.prefix, n.bits);
  });
}

}  // namespace roster::core
