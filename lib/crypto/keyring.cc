// roster::Keyring over libsodium's XChaCha20-Poly1305 (IETF variant).
#include "roster/keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"

namespace roster {
namespace {

static_assert(Keyring::kKeyBytes ==
              crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(Keyring::kNonceBytes ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(Keyring::kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

// A keyring file holds a few keys; anything much bigger is not one.
constexpr off_t kMaxKeyringFileBytes = 64 << 10;

using Key = std::array<uint8_t, Keyring::kKeyBytes>;

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; it fails only when the
  // system has no randomness source, which nothing here can work without.
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

absl::StatusOr<Key> ToKey(std::string_view bytes) {
  if (bytes.size() != Keyring::kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a key is ", Keyring::kKeyBytes, " bytes, not ", bytes.size()));
  }
  Key key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::string_view Trim(std::string_view s) {
  const char* space = " \t\r";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

struct Keyring::State {
  // std::mutex rather than absl::Mutex: Debian's libabsl is not built for
  // ThreadSanitizer, which then sees no synchronization at all and reports
  // every key change racing every seal and open.
  mutable std::mutex mu;
  std::vector<Key> keys ABSL_GUARDED_BY(mu);  // primary first
  std::atomic<Plaintext> plaintext{Plaintext::kRefuse};

  ~State() {
    for (Key& key : keys) sodium_memzero(key.data(), key.size());
  }
  // Index of `key`, or -1.
  int IndexOf(const Key& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (sodium_memcmp(keys[i].data(), key.data(), key.size()) == 0) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
};

Keyring::Keyring() : state_(std::make_unique<State>()) {
  EnsureSodium();
  // Keys never move to a new buffer, so none is left behind unwiped.
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->keys.reserve(kMaxKeys);
}
Keyring::~Keyring() = default;

absl::StatusOr<std::shared_ptr<Keyring>> Keyring::Create(
    const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::InvalidArgumentError("a keyring needs a key");
  if (keys.size() > kMaxKeys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a keyring holds at most ", kMaxKeys, " keys, not ", keys.size()));
  }
  std::shared_ptr<Keyring> ring(new Keyring());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto key = ToKey(keys[i]);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("key ", i + 1, ": ", key.status().message()));
    }
    std::lock_guard<std::mutex> lock(ring->state_->mu);
    if (ring->state_->IndexOf(*key) >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("key ", i + 1, " is a duplicate"));
    }
    ring->state_->keys.push_back(*key);
  }
  return ring;
}

absl::StatusOr<std::shared_ptr<Keyring>> Keyring::Load(
    std::string_view path_view) {
  const std::string path(path_view);
  // Opened once and checked through the descriptor, so the file checked is
  // the file read.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("keyring file ", path,
                                            ": cannot open it (",
                                            std::strerror(errno), ")"));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("keyring file ", path, " is not a regular file"));
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%03o",
             static_cast<unsigned>(info.st_mode & 0777));
    return absl::PermissionDeniedError(
        absl::StrCat("keyring file ", path, " has mode ", mode,
                     ": others than its owner may use it; chmod 600 it"));
  }
  if (info.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat("keyring file ", path,
                     " belongs to another user; it must be this user's"));
  }
  std::string contents(static_cast<size_t>(kMaxKeyringFileBytes) + 1, '\0');
  size_t got = 0;
  while (got < contents.size()) {
    const ssize_t n = read(fd, contents.data() + got, contents.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > static_cast<size_t>(kMaxKeyringFileBytes)) {
    sodium_memzero(contents.data(), contents.size());
    return absl::InvalidArgumentError(
        absl::StrCat("keyring file ", path, " is over ", kMaxKeyringFileBytes,
                     " bytes; a keyring is far smaller"));
  }
  contents.resize(got);
  std::vector<std::string> keys;
  int line_number = 0;
  std::string_view rest = contents;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view line = Trim(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    auto key = DecodeKey(line);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("keyring file ", path, " line ", line_number, ": ",
                       key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  auto ring = Create(keys);
  sodium_memzero(contents.data(), contents.size());
  for (std::string& key : keys) sodium_memzero(key.data(), key.size());
  if (!ring.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keyring file ", path, ": ", ring.status().message()));
  }
  return ring;
}

std::string Keyring::GenerateKey() {
  EnsureSodium();
  std::string key(kKeyBytes, '\0');
  crypto_aead_xchacha20poly1305_ietf_keygen(
      reinterpret_cast<unsigned char*>(key.data()));
  return key;
}

std::string Keyring::EncodeKey(std::string_view key) {
  EnsureSodium();
  std::string text(
      sodium_base64_encoded_len(key.size(), sodium_base64_VARIANT_ORIGINAL),
      '\0');
  sodium_bin2base64(text.data(), text.size(), Bytes(key), key.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

absl::StatusOr<std::string> Keyring::DecodeKey(std::string_view text) {
  EnsureSodium();
  std::string key(kKeyBytes + 1, '\0');
  size_t size = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()),
                        key.size(), text.data(), text.size(), nullptr, &size,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      size != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a base64 key of ", kKeyBytes,
                     " bytes (make one with `roster keygen`)"));
  }
  key.resize(size);
  return key;
}

absl::Status Keyring::Install(std::string_view bytes) {
  auto key = ToKey(bytes);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->IndexOf(*key) >= 0) return absl::OkStatus();
  if (state_->keys.size() >= kMaxKeys) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the keyring already holds ", kMaxKeys, " keys"));
  }
  state_->keys.push_back(*key);
  return absl::OkStatus();
}

absl::Status Keyring::UsePrimary(std::string_view bytes) {
  auto key = ToKey(bytes);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(state_->mu);
  int index = state_->IndexOf(*key);
  if (index < 0) {
    return absl::NotFoundError("install a key before making it primary");
  }
  std::rotate(state_->keys.begin(), state_->keys.begin() + index,
              state_->keys.begin() + index + 1);
  return absl::OkStatus();
}

absl::Status Keyring::Remove(std::string_view bytes) {
  auto key = ToKey(bytes);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(state_->mu);
  int index = state_->IndexOf(*key);
  if (index < 0) return absl::NotFoundError("no such key in the keyring");
  if (index == 0) {
    return absl::FailedPreconditionError(
        "the primary key cannot be removed; make another primary first");
  }
  // Moved to the end, wiped there, then dropped: no copy is left behind.
  std::rotate(state_->keys.begin() + index, state_->keys.begin() + index + 1,
              state_->keys.end());
  sodium_memzero(state_->keys.back().data(), kKeyBytes);
  state_->keys.pop_back();
  return absl::OkStatus();
}

absl::Status Keyring::Replace(const std::vector<std::string>& keys) {
  auto checked = Create(keys);
  if (!checked.ok()) return checked.status();
  std::scoped_lock both(state_->mu, (*checked)->state_->mu);
  std::swap(state_->keys, (*checked)->state_->keys);
  return absl::OkStatus();
}

std::vector<std::string> Keyring::Keys() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<std::string> keys;
  for (const Key& key : state_->keys) keys.emplace_back(key.begin(), key.end());
  return keys;
}

size_t Keyring::size() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->keys.size();
}

void Keyring::set_plaintext(Plaintext policy) { state_->plaintext = policy; }
Keyring::Plaintext Keyring::plaintext() const { return state_->plaintext; }

void Keyring::Seal(std::string_view message, std::string_view associated,
                   std::string* out) const {
  uint8_t nonce[kNonceBytes];
  randombytes_buf(nonce, sizeof(nonce));
  Seal(message, associated, nonce, out);
}

void Keyring::Seal(std::string_view message, std::string_view associated,
                   const uint8_t (&nonce)[kNonceBytes],
                   std::string* out) const {
  const size_t at = out->size();
  out->resize(at + kNonceBytes + message.size() + kTagBytes);
  auto* dest = reinterpret_cast<unsigned char*>(out->data() + at);
  std::copy(nonce, nonce + kNonceBytes, dest);
  unsigned long long sealed_size = 0;
  std::lock_guard<std::mutex> lock(state_->mu);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      dest + kNonceBytes, &sealed_size, Bytes(message), message.size(),
      Bytes(associated), associated.size(), nullptr, nonce,
      state_->keys.front().data());
}

bool Keyring::Open(std::string_view sealed, std::string_view associated,
                   std::string* out) const {
  if (sealed.size() < kOverhead) return false;
  const auto* nonce = Bytes(sealed);
  const std::string_view body = sealed.substr(kNonceBytes);
  out->resize(body.size() - kTagBytes);
  auto* dest = reinterpret_cast<unsigned char*>(out->data());
  std::lock_guard<std::mutex> lock(state_->mu);
  for (const Key& key : state_->keys) {
    unsigned long long opened_size = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            dest, &opened_size, nullptr, Bytes(body), body.size(),
            Bytes(associated), associated.size(), nonce, key.data()) == 0) {
      return true;
    }
  }
  out->clear();
  return false;
}

}  // namespace roster
