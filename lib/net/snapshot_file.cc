// The snapshot file on disk (snapshot_file.h): read at start, written by
// a thread of its own.
#include "net/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace roster::net {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path, int err) {
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM)
    return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, to see the error a deferred write may report.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("opening the directory", dir, errno);
  if (::fsync(fd.get()) != 0) return Errno("syncing the directory", dir, errno);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SnapshotFileContents> ReadSnapshotFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("opening", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("reading", path, errno);
  if (!S_ISREG(st.st_mode))
    return absl::DataLossError(
        absl::StrCat("snapshot file: ", path, " is not a regular file"));
  // Bounded before anything is allocated for it.
  constexpr size_t kMaxFileBytes =
      kSnapshotFileHeaderBytes + kMaxSnapshotFileBodyBytes;
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes)
    return absl::DataLossError(absl::StrCat(
        "snapshot file: ", path, " is ", st.st_size,
        " bytes, larger than any snapshot file (at most ", kMaxFileBytes, ")"));
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("reading", path, errno);
    if (n == 0) break;  // shrank meanwhile: decoding says truncated
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return DecodeSnapshotFile(bytes);
}

absl::Status WriteSnapshotFile(const std::string& path,
                               std::string_view bytes) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  absl::Status status = [&]() -> absl::Status {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Errno("creating", tmp, errno);
    size_t put = 0;
    while (put < bytes.size()) {
      ssize_t n = ::write(fd.get(), bytes.data() + put, bytes.size() - put);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("writing", tmp, errno);
      put += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return Errno("syncing", tmp, errno);
    if (fd.Close() != 0) return Errno("closing", tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      return Errno(absl::StrCat("renaming ", tmp, " to"), path, errno);
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    ::unlink(tmp.c_str());  // the old file, if any, is untouched
    return status;
  }
  // Without it the rename itself may not survive a power cut.
  return SyncDirectoryOf(path);
}

absl::StatusOr<std::string> SetSnapshotFileAside(const std::string& path) {
  const std::string aside = absl::StrCat(path, ".bad");
  if (::rename(path.c_str(), aside.c_str()) != 0)
    return Errno(absl::StrCat("renaming ", path, " to"), aside, errno);
  return aside;
}

SnapshotFileContents SnapshotFileContentsOf(const Snapshot& view,
                                            absl::Time now) {
  SnapshotFileContents c;
  c.name = view.self.name;
  c.life = view.self.life;
  c.incarnation = view.self.incarnation;
  c.left = view.self.state == MemberState::kLeft;
  c.written_at = now;
  c.event_clock = view.clocks.event;
  c.query_clock = view.clocks.query;
  if (view.members != nullptr) {
    for (const auto& m : *view.members) {
      if (m->name == view.self.name) continue;
      if (m->state != MemberState::kAlive && m->state != MemberState::kSuspect)
        continue;
      c.members.push_back(SnapshotFileMember{m->name, m->addr, m->life});
    }
  }
  return c;
}

// ---------------------------------------------------------------- writer

SnapshotFileWriter::SnapshotFileWriter(std::string path,
                                       absl::Duration interval, Log log,
                                       const SnapshotFileContents* restored)
    : path_(std::move(path)), interval_(interval), log_(std::move(log)) {
  if (restored != nullptr) {
    kept_members_ = restored->members;
    kept_left_ = restored->left;
  }
  thread_ = std::thread([this] { Run(); });
}

SnapshotFileWriter::~SnapshotFileWriter() { Stop(); }

void SnapshotFileWriter::Offer(std::shared_ptr<const Snapshot> view) {
  // Most turns publish nothing: the same view again is no news.
  if (view == nullptr || view == last_offered_) return;
  last_offered_ = view;
  const bool left = view->self.state == MemberState::kLeft;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (left != offered_left_) urgent_ = true;
    offered_left_ = left;
    pending_ = std::move(view);
  }
  wake_.notify_one();
}

void SnapshotFileWriter::Stop() {
  std::call_once(stopped_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  });
}

uint64_t SnapshotFileWriter::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

void SnapshotFileWriter::Run() {
  // The first write may go at once.
  auto next = std::chrono::steady_clock::now();
  const auto interval = absl::ToChronoNanoseconds(interval_);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || pending_ != nullptr; });
    // Coalesce: wait out the interval unless something is urgent, taking
    // whatever newer views arrive meanwhile.
    wake_.wait_until(lock, next, [&] { return stopping_ || urgent_; });
    std::shared_ptr<const Snapshot> view = std::move(pending_);
    pending_ = nullptr;
    urgent_ = false;
    const bool stopping = stopping_;
    if (view != nullptr) {
      lock.unlock();
      Write(*view);
      next = std::chrono::steady_clock::now() + interval;
      lock.lock();
    }
    if (stopping && pending_ == nullptr) return;
  }
}

void SnapshotFileWriter::Write(const Snapshot& view) {
  SnapshotFileContents contents = SnapshotFileContentsOf(view, absl::Now());
  if (contents.members.empty()) {
    contents.members = kept_members_;
    contents.left = contents.left || kept_left_;
  } else {
    kept_members_ = contents.members;
    kept_left_ = false;  // rejoined
  }
  SnapshotFileContents compared = contents;
  compared.written_at = absl::UnixEpoch();
  if (written_ == compared) return;
  absl::Status status = WriteSnapshotFile(path_, EncodeSnapshotFile(contents));
  if (!status.ok()) {
    // Once a streak: a full disk would otherwise log every second.
    if (!failing_)
      log_(LogLevel::kError,
           absl::StrCat("snapshot file not written (the last good one stays "
                        "in place; retried after each interval): ",
                        status.message()));
    failing_ = true;
    return;
  }
  if (failing_)
    log_(LogLevel::kInfo, absl::StrCat("snapshot file written again: ", path_));
  failing_ = false;
  written_ = std::move(compared);
  std::lock_guard<std::mutex> lock(mu_);
  ++writes_;
}

}  // namespace roster::net
