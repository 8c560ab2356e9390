// The snapshot file's bytes (doc/snapshot_format.md): what a member writes
// to NodeConfig::snapshot_path so that, restarted, it can rejoin the
// members it knew and name the life it was (Serf's -snapshot).
//
// Not to be confused with net/snapshot.h, the in-memory view the loop
// publishes for the reads (Members, Lookup): that one is never written
// anywhere. "The snapshot file" is always this one, on disk.
//
// Layout, LevelDB style: a fixed header, then a body of varints (every
// integer through util/coding.h) whose length and checksum the header
// gives.
//
//   header, 20 bytes
//     magic     8 bytes   "ROSTERSF"
//     version   4 bytes   big-endian; this build writes and reads 1
//     length    4 bytes   big-endian; the body's bytes, at most
//                         kMaxSnapshotFileBodyBytes
//     crc       4 bytes   big-endian CRC-32C of version, length and body
//   body
//     name          string   this member's name
//     life          varint   this member's life when written
//     incarnation   varint   its incarnation then
//     flags         varint   bit 0: it had left gracefully; others zero
//     written_at    varint   Unix time of the write, in milliseconds
//     event_clock   varint   the Lamport clock of user events (0: none yet)
//     query_clock   varint   the Lamport clock of queries (0: none yet)
//     count         varint   the members that follow
//     count times:
//       name        string   a member it knew alive or suspect
//       addr        string
//       life        varint
//   (string: a varint length, then that many bytes)
//
// A file is hostile input: the reader bounds every length by what is left
// and by the limits before it allocates, and says what is wrong.
#ifndef ROSTER_NET_SNAPSHOT_FILE_FORMAT_H_
#define ROSTER_NET_SNAPSHOT_FILE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace roster::net {

inline constexpr std::string_view kSnapshotFileMagic = "ROSTERSF";
inline constexpr uint32_t kSnapshotFileVersion = 1;
inline constexpr size_t kSnapshotFileHeaderBytes = 8 + 4 + 4 + 4;
// Names and addresses are at most 255 bytes (Config's limits), so a member
// takes at most about 520 bytes: 64 MiB is over 100,000 of them.
inline constexpr size_t kMaxSnapshotFileBodyBytes = 64 << 20;
inline constexpr size_t kMaxSnapshotFileStringBytes = 255;
inline constexpr uint64_t kSnapshotFileLeftFlag = 1;

struct SnapshotFileMember {
  std::string name;
  std::string addr;
  uint32_t life = 0;

  bool operator==(const SnapshotFileMember&) const = default;
};

struct SnapshotFileContents {
  std::string name;
  uint32_t life = 0;
  uint64_t incarnation = 0;
  bool left = false;  // it had left gracefully (Leave)
  absl::Time written_at = absl::UnixEpoch();
  // The Lamport clocks of user events and queries (Swim::Clocks), which
  // the next life goes on from (Swim::RestoreClocks).
  uint64_t event_clock = 0;
  uint64_t query_clock = 0;
  std::vector<SnapshotFileMember> members;  // alive or suspect, not self

  bool operator==(const SnapshotFileContents&) const = default;
};

// The whole file. Strings over kMaxSnapshotFileStringBytes are a caller
// bug (the config's limits forbid them); they are cut to that.
std::string EncodeSnapshotFile(const SnapshotFileContents& contents);

// Reads a whole file: DataLoss saying what is wrong (not a snapshot file,
// another version, truncated, a checksum mismatch, an impossible length or
// count, bytes left over), never a partial result.
absl::StatusOr<SnapshotFileContents> DecodeSnapshotFile(std::string_view bytes);

}  // namespace roster::net

#endif  // ROSTER_NET_SNAPSHOT_FILE_FORMAT_H_
