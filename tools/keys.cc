#include "tools/keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace roster::tools {
namespace {

// Writes all of `text` to `fd`, then syncs it.
bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return fsync(fd) == 0;
}

std::string KeyLines(const std::vector<std::string>& keys) {
  std::string text;
  for (const std::string& key : keys)
    absl::StrAppend(&text, Keyring::EncodeKey(key), "\n");
  return text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<Keyring>> LoadKeyring(
    const std::string& path, const std::string& plaintext) {
  if (path.empty()) {
    if (!plaintext.empty())
      return absl::InvalidArgumentError("--plaintext needs --keyring FILE");
    return std::shared_ptr<Keyring>();
  }
  auto ring = Keyring::Load(path);
  if (!ring.ok()) {
    return absl::Status(ring.status().code(),
                        absl::StrCat("--keyring: ", ring.status().message()));
  }
  if (plaintext == "accept") {
    (*ring)->set_plaintext(Keyring::Plaintext::kAccept);
  } else if (plaintext == "send") {
    (*ring)->set_plaintext(Keyring::Plaintext::kSend);
  } else if (!plaintext.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--plaintext '", plaintext,
        "' is neither accept (send sealed, accept plaintext) nor send "
        "(send plaintext, accept both)"));
  }
  return ring;
}

absl::Status ReloadKeyring(Keyring& keyring, const std::string& path) {
  auto fresh = Keyring::Load(path);
  if (!fresh.ok()) return fresh.status();
  return keyring.Replace((*fresh)->Keys());
}

absl::Status SaveKeyring(const Keyring& keyring, const std::string& path) {
  const std::string temp = absl::StrCat(path, ".tmp");
  const int fd =
      open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(
        absl::StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  const bool written = WriteAll(fd, KeyLines(keyring.Keys()));
  close(fd);
  if (!written || rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    unlink(temp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot replace ", path, ": ", why));
  }
  return absl::OkStatus();
}

absl::Status CreateKeyringFile(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return absl::AlreadyExistsError(
          absl::StrCat("cannot create ", path,
                       ": it exists (a keyring is never overwritten)"));
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  const bool written = WriteAll(fd, KeyLines({Keyring::GenerateKey()}));
  close(fd);
  if (!written)
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace roster::tools
