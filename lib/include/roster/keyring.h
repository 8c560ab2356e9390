// The keys that seal a cluster's datagrams and streams.
//
// Sealing is XChaCha20-Poly1305 (libsodium) with a random 24-byte nonce and
// the frame header, cluster label included, as associated data. The primary
// key seals what a member sends; every installed key is tried on what it
// receives, which is what makes a live rotation possible:
//
//   1. Install(new) on every member      (all can now read the new key)
//   2. UsePrimary(new) on every member   (all now send with it)
//   3. Remove(old) on every member
//
// Turning encryption on in a running plaintext cluster goes the other way
// round through the plaintext policy: give every member the keyring with
// kSend (holds the keys, sends plaintext, accepts both), then switch each to
// kAccept (sends sealed, still accepts plaintext), then to kRefuse.
//
// A Keyring is shared (Config::keyring is a shared_ptr) so an application
// rotates keys on a running member by calling these methods. Every method
// is thread-safe. Key bytes are wiped from memory when removed.
#ifndef ROSTER_KEYRING_H_
#define ROSTER_KEYRING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "roster/types.h"  // the API's string, status and time types

namespace roster {

class Keyring {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 24;
  static constexpr size_t kTagBytes = 16;
  // Bytes a sealed payload adds: the nonce in front, the tag behind.
  static constexpr size_t kOverhead = kNonceBytes + kTagBytes;
  static constexpr size_t kMaxKeys = 16;

  // What a member with a keyring does about plaintext frames.
  enum class Plaintext : uint8_t {
    kRefuse,  // sends sealed; drops plaintext (the normal state)
    kAccept,  // sends sealed; still accepts plaintext (migration, step 2)
    kSend,    // sends plaintext; accepts both (migration, step 1)
  };

  // `keys` are raw kKeyBytes-byte keys, the first the primary. Refuses an
  // empty list, a key of another size, a duplicate, or more than kMaxKeys.
  static absl::StatusOr<std::shared_ptr<Keyring>> Create(
      const std::vector<std::string>& keys);
  // Reads a keyring file: base64 keys, one a line, the first the primary;
  // blank lines and lines starting with '#' are skipped. Refuses a file that
  // anyone but its owner may read or write, naming the file and its mode.
  static absl::StatusOr<std::shared_ptr<Keyring>> Load(std::string_view path);
  // A new random key from the operating system's generator.
  static std::string GenerateKey();
  static std::string EncodeKey(std::string_view key);  // standard base64
  static absl::StatusOr<std::string> DecodeKey(std::string_view text);

  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Adds a key accepted on receipt (Ok if already installed).
  absl::Status Install(std::string_view key);
  // Makes an installed key the one used to send.
  absl::Status UsePrimary(std::string_view key);
  // Removes a key; the primary cannot be removed.
  absl::Status Remove(std::string_view key);
  // Makes the keyring hold exactly `keys`, the first primary, in one step
  // (as when an agent reloads its keyring file); refused as Create would
  // refuse them, leaving the keyring as it was.
  absl::Status Replace(const std::vector<std::string>& keys);
  std::vector<std::string> Keys() const;  // primary first
  size_t size() const;

  void set_plaintext(Plaintext policy);
  Plaintext plaintext() const;
  // Whether what this member sends is sealed (kRefuse or kAccept).
  bool seals() const { return plaintext() != Plaintext::kSend; }

  // Appends a nonce from the operating system's generator, the ciphertext
  // of `message` under the primary key, and the tag to `out`.
  void Seal(std::string_view message, std::string_view associated,
            std::string* out) const;
  // The same with the caller's nonce: only for reproducible test inputs. A
  // nonce must never repeat under one key.
  void Seal(std::string_view message, std::string_view associated,
            const uint8_t (&nonce)[kNonceBytes], std::string* out) const;
  // Opens nonce || ciphertext || tag with whichever installed key sealed
  // it, replacing `out`'s contents; false if none does (another key, or a
  // changed byte anywhere, associated data included).
  bool Open(std::string_view sealed, std::string_view associated,
            std::string* out) const;

 private:
  struct State;
  Keyring();
  std::unique_ptr<State> state_;
};

}  // namespace roster

#endif  // ROSTER_KEYRING_H_
