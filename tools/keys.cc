#include "tools/keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace roster::tools {

int Keygen(int argc, char** argv) {
  Flags flags({"out"}, {"help"});
  auto usage = [](std::string_view message) {
    std::fprintf(stderr, "roster keygen: %.*s\n",
                 static_cast<int>(message.size()), message.data());
    return 2;
  };
  if (auto s = flags.Parse(argc, argv, 2); !s.ok()) {
    return usage(std::string(s.message()));
  }
  if (flags.Has("help")) {
    std::puts("usage: roster keygen [--out FILE]");
    return 0;
  }
  if (!flags.positional().empty()) {
    return usage(
        absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  }
  const std::string line =
      absl::StrCat(Keyring::EncodeKey(Keyring::GenerateKey()), "\n");
  if (!flags.Has("out")) {
    std::fputs(line.c_str(), stdout);
    return 0;
  }
  const std::string path = flags.Get("out", "");
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "roster keygen: cannot create %s: %s%s\n",
                 path.c_str(), std::strerror(errno),
                 errno == EEXIST ? " (a keyring is never overwritten)" : "");
    return 1;
  }
  const bool written =
      write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!written) {
    std::fprintf(stderr, "roster keygen: cannot write %s\n", path.c_str());
    return 1;
  }
  std::fprintf(stderr, "roster keygen: wrote a new keyring to %s\n",
               path.c_str());
  return 0;
}

absl::StatusOr<std::shared_ptr<Keyring>> KeyringFromFlags(const Flags& flags) {
  if (!flags.Has("keyring")) {
    if (flags.Has("plaintext")) {
      return absl::InvalidArgumentError("--plaintext needs --keyring FILE");
    }
    return std::shared_ptr<Keyring>();
  }
  auto ring = Keyring::Load(flags.Get("keyring", ""));
  if (!ring.ok()) {
    return absl::Status(ring.status().code(),
                        absl::StrCat("--keyring: ", ring.status().message()));
  }
  const std::string plaintext = flags.Get("plaintext", "");
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

}  // namespace roster::tools
