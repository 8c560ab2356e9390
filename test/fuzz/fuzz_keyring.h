// The keyring the fuzz targets open sealed frames with, and make_corpus
// seals seed frames with: fixed keys and counted nonces, so the corpus is
// the same on every run. It accepts plaintext too (Plaintext::kAccept), so
// one target reaches both the checksum and the decryption path.
#ifndef ROSTER_TEST_FUZZ_FUZZ_KEYRING_H_
#define ROSTER_TEST_FUZZ_FUZZ_KEYRING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "roster/keyring.h"

namespace roster::fuzz {

// Primary 'F' * 32; 'G' * 32 also installed.
inline const Keyring& FuzzKeyring() {
  static const std::shared_ptr<Keyring> ring = [] {
    auto created = Keyring::Create({std::string(Keyring::kKeyBytes, 'F'),
                                    std::string(Keyring::kKeyBytes, 'G')});
    std::shared_ptr<Keyring> r = *std::move(created);
    r->set_plaintext(Keyring::Plaintext::kAccept);
    return r;
  }();
  return *ring;
}

// A nonce source that counts: deterministic, and never repeats in a run.
inline std::function<uint64_t()> CountingNonces() {
  return [n = uint64_t{0}]() mutable { return ++n; };
}

}  // namespace roster::fuzz

#endif  // ROSTER_TEST_FUZZ_FUZZ_KEYRING_H_
