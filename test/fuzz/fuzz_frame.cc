// libFuzzer target: a whole datagram through core::OpenFrame, expecting no
// label and expecting one, with a keyring that also accepts plaintext (so
// both the checksum and the decryption path are reached), then its payload
// through core::DecodePacket. A frame carries one label, so at most one of
// the two opens; an opened unencrypted frame is exactly what SealFrame
// writes for its payload, and an opened encrypted one was sealed with a key
// of the keyring.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/wire/codec.h"
#include "core/wire/frame.h"
#include "roster/config.h"
#include "test/fuzz/check.h"
#include "test/fuzz/fuzz_keyring.h"
#include "test/fuzz/wire_checks.h"

namespace roster::fuzz {
namespace {

constexpr std::string_view kLabel = "prod";
constexpr uint8_t kEncryptedFlag = 1u << 2;  // wire.h: frame byte 1, bit 2

// Holds the plaintext of the last encrypted frame opened.
std::string opened_buffer;

core::Decoded<std::string_view> Open(std::string_view frame,
                                     std::string_view label) {
  return core::OpenFrame(frame, label, Limits().max_packet_bytes,
                         &FuzzKeyring(), &opened_buffer);
}

std::string Seal(std::string_view payload, std::string_view label) {
  return core::SealFrame(payload, label);
}

// Opens `frame` expecting `label`; what opens must hold together.
bool OpenAndCheck(std::string_view frame, std::string_view label) {
  const auto opened = Open(frame, label);
  if (!opened.ok()) return false;
  const std::string_view payload = opened.value;
  if ((static_cast<uint8_t>(frame[1]) & kEncryptedFlag) == 0) {
    // The payload is the end of the frame, not a copy or a stray view.
    FUZZ_CHECK(payload.size() < frame.size());
    FUZZ_CHECK(payload.data() + payload.size() == frame.data() + frame.size());
    FUZZ_CHECK(Seal(payload, label) == frame);
  }
  const auto packet = core::DecodePacket(payload, Limits());
  if (packet.ok()) CheckDecodedPacket(packet.value, Limits());
  return true;
}

}  // namespace
}  // namespace roster::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roster::fuzz;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const bool unlabelled = OpenAndCheck(frame, "");
  const bool labelled = OpenAndCheck(frame, kLabel);
  FUZZ_CHECK(!(unlabelled && labelled));
  // Whatever the input, sealed as a payload it opens to itself.
  const std::string sealed = Seal(frame, kLabel);
  const auto reopened = Open(sealed, kLabel);
  if (sealed.size() <= roster::Limits().max_packet_bytes) {
    FUZZ_CHECK(reopened.ok() && reopened.value == frame);
  }
  // And encrypted, it opens to itself too; without a key it never opens.
  const std::string encrypted =
      roster::core::SealFrame(frame, kLabel, &FuzzKeyring(), CountingNonces());
  if (encrypted.size() <= roster::Limits().max_packet_bytes) {
    const auto decrypted = Open(encrypted, kLabel);
    FUZZ_CHECK(decrypted.ok() && decrypted.value == frame);
    FUZZ_CHECK(!roster::core::OpenFrame(encrypted, kLabel,
                                        roster::Limits().max_packet_bytes)
                    .ok());
  }
  return 0;
}
