// Node::Impl and the snapshot file (NodeConfig::snapshot_path): what a
// restart takes from it, and the writer that keeps it current. The
// format is net/snapshot_file_format.h; the disk, net/snapshot_file.h.
#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/node_impl.h"
#include "net/seeds.h"
#include "net/snapshot_file.h"

namespace roster {
namespace {

// A restart knocks on at most this many of the members it knew (one
// answer is enough; the rest are asked too, so that a few gone ones do
// not matter, but not thousands at once). They are remembered as seeds,
// so that they are retried while the node is alone.
constexpr size_t kMaxRejoinAddrs = 16;
// The core's bound on incarnations (2^62): the config refuses more.
constexpr uint64_t kMaxIncarnation = uint64_t{1} << 62;
constexpr absl::Duration kWriteInterval = absl::Seconds(1);

}  // namespace

std::optional<net::SnapshotFileContents> Node::Impl::RestoreSnapshotFile() {
  const std::string& path = config_.snapshot_path;
  if (path.empty()) return std::nullopt;
  absl::StatusOr<net::SnapshotFileContents> read = net::ReadSnapshotFile(path);
  if (read.ok() && read->name != config_.swim.name)
    read = absl::DataLossError(
        absl::StrCat("snapshot file: it is member ", read->name,
                     "'s, not this member's (", config_.swim.name, ")"));
  if (absl::IsNotFound(read.status())) {
    Log(LogLevel::kInfo,
        absl::StrCat("no snapshot file at ", path,
                     " yet: starting afresh; it is written as members "
                     "are learnt"));
    return std::nullopt;
  }
  if (!read.ok()) {
    // Never trusted, never deleted: moved aside for the operator, and the
    // node starts as without one (the seeds given to Join).
    std::string where = "left in place (it is overwritten by the next write)";
    if (absl::IsDataLoss(read.status())) {
      absl::StatusOr<std::string> aside = net::SetSnapshotFileAside(path);
      where = aside.ok() ? absl::StrCat("moved aside to ", *aside)
                         : absl::StrCat("left in place (",
                                        aside.status().message(), ")");
    }
    Log(LogLevel::kError,
        absl::StrCat("snapshot file ", path,
                     " not used: ", read.status().message(), "; it was ", where,
                     ". Starting afresh: only the seeds given to Join are "
                     "tried"));
    return std::nullopt;
  }
  config_.swim.previous_life = read->life;
  config_.swim.initial_incarnation =
      std::max(config_.swim.initial_incarnation,
               std::min(read->incarnation + 1, kMaxIncarnation));
  return *std::move(read);
}

void Node::Impl::StartSnapshotFile(
    std::optional<net::SnapshotFileContents> restored) {
  if (config_.snapshot_path.empty()) return;
  // The writer's lines reach on_log through the loop, like every other.
  snapshot_file_ = std::make_unique<net::SnapshotFileWriter>(
      config_.snapshot_path, kWriteInterval,
      [this](LogLevel level, std::string message) {
        loop_.Post([this, level, message = std::move(message)] {
          Log(level, message);
        });
      },
      restored ? &*restored : nullptr);
  if (!restored) return;
  // What this life stamps follows what the last one did.
  swim_->RestoreClocks({restored->event_clock, restored->query_clock});
  const std::string said = absl::StrCat(
      "restored from snapshot file ", config_.snapshot_path, " (written ",
      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", restored->written_at,
                       absl::UTCTimeZone()),
      "): this life replaces life ", restored->life, " at incarnation ",
      restored->incarnation);
  if (restored->left && !config_.rejoin_after_leave) {
    Log(LogLevel::kInfo,
        absl::StrCat(said,
                     "; it had left gracefully, so it does not rejoin on its "
                     "own (NodeConfig::rejoin_after_leave): call Join"));
    return;
  }
  std::vector<std::string> addrs;
  for (const net::SnapshotFileMember& m : restored->members) {
    // Addresses only, in their normal form: a file naming a DNS seed
    // would have the node look up whatever it says.
    absl::StatusOr<net::SeedSpec> spec = net::ParseSeed(m.addr);
    if (!spec.ok() || spec->kind != net::SeedSpec::Kind::kAddress ||
        spec->host == config_.swim.advertise_addr)
      continue;
    addrs.push_back(spec->host);
  }
  if (addrs.size() > kMaxRejoinAddrs) {
    std::shuffle(addrs.begin(), addrs.end(),
                 std::mt19937(std::random_device{}()));
    addrs.resize(kMaxRejoinAddrs);
  }
  Log(LogLevel::kInfo,
      absl::StrCat(said, "; rejoining ", addrs.size(), " of the ",
                   restored->members.size(), " members it knew alive"));
  if (addrs.empty()) return;
  JoinAsync(addrs, [this](absl::Status status) {
    if (status.ok()) {
      Log(LogLevel::kInfo, "rejoined the members of the snapshot file");
    } else {
      Log(LogLevel::kWarning,
          absl::StrCat("rejoining the members of the snapshot file failed "
                       "(retried while alone, with any seeds given to "
                       "Join): ",
                       status.message()));
    }
  });
}

}  // namespace roster
