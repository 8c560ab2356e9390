// The keyring side of the `roster` command line: the --keyring and
// --plaintext flags, `roster keygen`, and the keyring file an agent
// rewrites when `roster keys` changes its keys.
#ifndef ROSTER_TOOLS_KEYS_H_
#define ROSTER_TOOLS_KEYS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "roster/keyring.h"

namespace roster::tools {

// The keyring in the file at `path` with the policy `plaintext` (accept or
// send, for turning encryption on in a running cluster; empty for
// neither); nullptr when `path` is empty. InvalidArgument or
// PermissionDenied name the problem.
absl::StatusOr<std::shared_ptr<Keyring>> LoadKeyring(
    const std::string& path, const std::string& plaintext);

// Makes `keyring` hold what the file at `path` holds now: how an agent
// takes a rotation step on SIGHUP.
absl::Status ReloadKeyring(Keyring& keyring, const std::string& path);

// Replaces the file at `path` with `keyring`'s keys, primary first, all at
// once (a temporary file renamed over it, readable by its owner only), so
// that a crash leaves the old file or the new one.
absl::Status SaveKeyring(const Keyring& keyring, const std::string& path);

// Creates a keyring file holding one new key, never over an existing
// file: AlreadyExists, or another error naming the path.
absl::Status CreateKeyringFile(const std::string& path);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_KEYS_H_
