// The snapshot file on disk (NodeConfig::snapshot_path): reading it at
// start, and writing it without holding up the protocol.
//
// Not net/snapshot.h's Snapshot, the in-memory view the reads answer
// from; but the writer is handed those views, as they are published, for
// it costs the loop nothing: a published view is immutable and shared, so
// handing one over is a pointer's copy, and the writer thread does the
// rest (picking the live members, encoding, comparing, writing).
//
// While this member knows no other live member (just restarted and not
// yet rejoined, or cut off), the file keeps the members it last recorded,
// and that it had left if it had: they are its only way back, and a
// restart that has not rejoined yet must not forget them, nor a leave.
//
// Writes are coalesced: at most one in flight (one thread), at most one
// per interval, and none when nothing the file records changed (the view
// changes with every counter; the file's contents seldom). A change of
// whether this member has left is written at once, and so is what is
// pending at Stop. Each write goes to PATH.tmp, is fsynced, renamed over
// PATH and the directory fsynced: a crash at any point leaves the old file
// or the new one whole, never a mix.
#ifndef ROSTER_NET_SNAPSHOT_FILE_H_
#define ROSTER_NET_SNAPSHOT_FILE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/snapshot.h"
#include "net/snapshot_file_format.h"
#include "roster/runtime.h"  // LogLevel

namespace roster::net {

// NotFound when there is no file; DataLoss, saying what is wrong, for one
// that does not decode or is larger than any good file; another error
// when it cannot be read.
absl::StatusOr<SnapshotFileContents> ReadSnapshotFile(const std::string& path);
// Writes `bytes` to `path` as described above.
absl::Status WriteSnapshotFile(const std::string& path, std::string_view bytes);
// Moves a bad file out of the way, to PATH.bad (replacing an earlier one),
// so that the next write does not destroy what an operator may want to
// look at. The new name, or why it could not be moved.
absl::StatusOr<std::string> SetSnapshotFileAside(const std::string& path);

// What the file records of a published view: this member, and the other
// members alive or suspect.
SnapshotFileContents SnapshotFileContentsOf(const Snapshot& view,
                                            absl::Time now);

class SnapshotFileWriter {
 public:
  using Log = std::function<void(LogLevel, std::string)>;
  // `log` is called on the writer's thread. `restored`: the file this
  // life started from, if any.
  SnapshotFileWriter(std::string path, absl::Duration interval, Log log,
                     const SnapshotFileContents* restored = nullptr);
  ~SnapshotFileWriter();  // Stop()
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;

  // The loop thread: the newest view. Never waits for a write. Ignored
  // after Stop().
  void Offer(std::shared_ptr<const Snapshot> view);
  // Writes what is pending and ends the thread. Idempotent; any thread.
  void Stop();

  // Files written so far.
  uint64_t writes() const;

 private:
  void Run();
  // One write of `view`, if what it records changed; on the thread.
  void Write(const Snapshot& view);

  const std::string path_;
  const absl::Duration interval_;
  const Log log_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::shared_ptr<const Snapshot> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Whether this member had left, as last offered: a change is urgent.
  bool offered_left_ ABSL_GUARDED_BY(mu_) = false;
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;

  // The loop thread's own.
  std::shared_ptr<const Snapshot> last_offered_;
  // The writer thread's own.
  std::optional<SnapshotFileContents> written_;  // written_at left out
  // What a member alone writes (see the top).
  std::vector<SnapshotFileMember> kept_members_;
  bool kept_left_ = false;
  bool failing_ = false;  // the last write failed (logged once a streak)

  std::once_flag stopped_;
  std::thread thread_;
};

}  // namespace roster::net

#endif  // ROSTER_NET_SNAPSHOT_FILE_H_
