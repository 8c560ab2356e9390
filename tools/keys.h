// The keyring side of the `roster` command line: `roster keygen`, and the
// --keyring and --plaintext flags of `roster agent` and `roster members`.
#ifndef ROSTER_TOOLS_KEYS_H_
#define ROSTER_TOOLS_KEYS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "roster/keyring.h"
#include "tools/flags.h"

namespace roster::tools {

// `roster keygen [--out FILE]`: prints a new base64 key, or writes it as a
// new keyring file readable by its owner only (never over an existing one).
// Returns the exit status.
int Keygen(int argc, char** argv);

// The keyring named by --keyring FILE with the policy of --plaintext
// accept|send (for turning encryption on in a running cluster); nullptr
// without --keyring. InvalidArgument or PermissionDenied name the problem.
absl::StatusOr<std::shared_ptr<Keyring>> KeyringFromFlags(const Flags& flags);

// Makes `keyring` hold what the file at `path` holds now: how an agent
// takes a rotation step on SIGHUP.
absl::Status ReloadKeyring(Keyring& keyring, const std::string& path);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_KEYS_H_
