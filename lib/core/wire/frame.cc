#include "core/wire/frame.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/string_view.h"

namespace roster::core {

using util::Crc32c;
namespace {

constexpr uint8_t kFlagLabel = 1u << 0;
constexpr uint8_t kFlagChecksum = 1u << 1;
constexpr uint8_t kFlagEncrypted = 1u << 2;
constexpr uint8_t kKnownFlags = kFlagLabel | kFlagChecksum | kFlagEncrypted;

constexpr size_t kHeaderBytes = 2;  // version, flags
constexpr size_t kCrcBytes = 4;

std::string_view ClampLabel(std::string_view label) {
  return label.substr(0, std::min(label.size(), kMaxLabelBytes));
}

// Why a frame's label is not ours, if it is not.
std::optional<WireError> CheckLabel(bool has_label, std::string_view label,
                                    std::string_view expected_label) {
  if (label == expected_label) return std::nullopt;
  std::string message;
  if (!has_label) {
    message = "frame carries no label, expected one";
  } else if (expected_label.empty()) {
    message = absl::StrCat("frame carries label \"",
                           absl::CHexEscape(util::ToAbsl(label)),
                           "\", expected none");
  } else {
    message = absl::StrCat("frame carries label \"",
                           absl::CHexEscape(util::ToAbsl(label)),
                           "\", expected another");
  }
  return WireError{DropReason::kWrongLabel, std::move(message)};
}

}  // namespace

size_t FrameOverhead(std::string_view label, const Keyring* keyring) {
  label = ClampLabel(label);
  return kHeaderBytes + (label.empty() ? 0 : 1 + label.size()) +
         (keyring != nullptr ? Keyring::kOverhead : kCrcBytes);
}

std::string SealFrame(std::string_view payload, std::string_view label,
                      const Keyring* keyring,
                      const std::function<uint64_t()>& test_nonces) {
  // A label over kMaxLabelBytes is refused by Config::Validate; should one
  // slip through, it is cut rather than written with a wrapped length.
  label = ClampLabel(label);
  const bool sealed = keyring != nullptr && keyring->seals();
  std::string frame;
  frame.reserve(FrameOverhead(label, keyring) + payload.size());
  frame.push_back(static_cast<char>(kFrameVersion));
  uint8_t flags = sealed ? kFlagEncrypted : kFlagChecksum;
  if (!label.empty()) flags |= kFlagLabel;
  frame.push_back(static_cast<char>(flags));
  if (!label.empty()) {
    frame.push_back(static_cast<char>(label.size()));
    frame.append(label);
  }
  if (sealed) {
    // The header (label included) is authenticated but travels in clear,
    // so a member of another cluster drops the frame without a decryption.
    const std::string header = frame;
    if (!test_nonces) {
      keyring->Seal(payload, header, &frame);
      return frame;
    }
    uint8_t nonce[Keyring::kNonceBytes];
    for (size_t i = 0; i < sizeof(nonce); i += 8) {
      const uint64_t word = test_nonces();
      for (size_t b = 0; b < 8; ++b) {
        nonce[i + b] = static_cast<uint8_t>(word >> (8 * b));
      }
    }
    keyring->Seal(payload, header, nonce, &frame);
    return frame;
  }
  const size_t crc_at = frame.size();
  frame.append(kCrcBytes, '\0');
  frame.append(payload);
  const std::string_view view(frame);
  const uint32_t crc =
      Crc32c(view.substr(crc_at + kCrcBytes), Crc32c(view.substr(0, crc_at)));
  util::EncodeFixed32BigEndian(frame.data() + crc_at, crc);
  return frame;
}

Decoded<std::string_view> OpenFrame(std::string_view frame,
                                    std::string_view expected_label,
                                    size_t max_frame_bytes,
                                    const Keyring* keyring,
                                    std::string* opened) {
  using Result = std::string_view;
  if (frame.size() > max_frame_bytes) {
    return Failed<Result>(
        DropReason::kTooLarge,
        absl::StrCat("frame is ", frame.size(), " bytes, over the limit of ",
                     max_frame_bytes));
  }
  if (frame.size() < kHeaderBytes) {
    return Failed<Result>(DropReason::kMalformed,
                          absl::StrCat("frame of ", frame.size(),
                                       " bytes is shorter than its header"));
  }
  const auto version = static_cast<uint8_t>(frame[0]);
  if (version != kFrameVersion) {
    return Failed<Result>(
        DropReason::kBadVersion,
        absl::StrCat("frame version ", version,
                     " is not the supported version ", kFrameVersion));
  }
  const auto flags = static_cast<uint8_t>(frame[1]);
  if ((flags & ~kKnownFlags) != 0) {
    return Failed<Result>(
        DropReason::kMalformed,
        absl::StrCat("frame has unknown flag bits 0x",
                     absl::Hex(flags & ~kKnownFlags, absl::kZeroPad2)));
  }
  const bool encrypted = (flags & kFlagEncrypted) != 0;
  if (encrypted && (flags & kFlagChecksum) != 0) {
    return Failed<Result>(DropReason::kMalformed,
                          "encrypted frame also claims a checksum");
  }
  if (!encrypted && (flags & kFlagChecksum) == 0) {
    return Failed<Result>(DropReason::kMalformed,
                          "unencrypted frame carries no checksum");
  }
  size_t pos = kHeaderBytes;
  const bool has_label = (flags & kFlagLabel) != 0;
  std::string_view label;
  if (has_label) {
    if (frame.size() - pos < 1) {
      return Failed<Result>(DropReason::kMalformed,
                            "frame ends before its label length");
    }
    const size_t label_size = static_cast<uint8_t>(frame[pos]);
    ++pos;
    if (label_size == 0) {
      return Failed<Result>(DropReason::kMalformed,
                            "frame has the label flag but an empty label");
    }
    if (frame.size() - pos < label_size) {
      return Failed<Result>(
          DropReason::kMalformed,
          absl::StrCat("frame ends inside its ", label_size, "-byte label"));
    }
    label = frame.substr(pos, label_size);
    pos += label_size;
  }
  if (encrypted) {
    // The label is authenticated with the payload: compared first, so
    // another cluster's traffic costs no decryption; a forged one fails
    // to open.
    auto wrong = CheckLabel(has_label, label, expected_label);
    if (wrong.has_value()) return Failed<Result>(wrong->reason, wrong->message);
    if (keyring == nullptr || opened == nullptr) {
      return Failed<Result>(DropReason::kUndecryptable,
                            "encrypted frame, and no keyring to open it");
    }
    if (frame.size() - pos < Keyring::kOverhead) {
      return Failed<Result>(
          DropReason::kMalformed,
          "encrypted frame is shorter than its nonce and tag");
    }
    if (!keyring->Open(frame.substr(pos), frame.substr(0, pos), opened)) {
      return Failed<Result>(
          DropReason::kUndecryptable,
          "encrypted frame opens with no installed key (another key, or "
          "changed in transit)");
    }
    Decoded<Result> decoded;
    decoded.value = *opened;
    return decoded;
  }
  if (frame.size() - pos < kCrcBytes) {
    return Failed<Result>(DropReason::kMalformed,
                          "frame ends inside its checksum");
  }
  const uint32_t stored = util::DecodeFixed32BigEndian(frame.data() + pos);
  const uint32_t computed =
      Crc32c(frame.substr(pos + kCrcBytes), Crc32c(frame.substr(0, pos)));
  if (stored != computed) {
    return Failed<Result>(
        DropReason::kBadChecksum,
        absl::StrCat("frame checksum 0x", absl::Hex(stored, absl::kZeroPad8),
                     " does not match computed 0x",
                     absl::Hex(computed, absl::kZeroPad8)));
  }
  // The label is compared after the checksum, so a label damaged in transit
  // counts as corruption, not as another cluster's traffic.
  auto wrong = CheckLabel(has_label, label, expected_label);
  if (wrong.has_value()) return Failed<Result>(wrong->reason, wrong->message);
  if (keyring != nullptr &&
      keyring->plaintext() == Keyring::Plaintext::kRefuse) {
    return Failed<Result>(DropReason::kPlaintext,
                          "unencrypted frame, and this member requires "
                          "encryption");
  }
  Decoded<Result> decoded;
  decoded.value = frame.substr(pos + kCrcBytes);
  return decoded;
}

bool IsSealed(std::string_view frame) {
  return frame.size() >= kHeaderBytes &&
         (static_cast<uint8_t>(frame[1]) & kFlagEncrypted) != 0;
}

}  // namespace roster::core
