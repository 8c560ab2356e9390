// The snapshot file (NodeConfig::snapshot_path): its format (every
// damaged or hostile file is a clear error, never a crash or a huge
// allocation), its writes to disk, and the writer thread's coalescing.
#include "net/snapshot_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/snapshot_file_format.h"
#include "test/common/wait_until.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace roster::net {
namespace {

namespace fs = std::filesystem;

SnapshotFileContents Sample() {
  SnapshotFileContents c;
  c.name = "node-a";
  c.life = 0xdeadbeef;
  c.incarnation = 41;
  c.left = false;
  c.written_at = absl::FromUnixMillis(1'700'000'000'123);
  c.event_clock = 7;
  c.query_clock = 300;
  for (int i = 0; i < 5; ++i)
    c.members.push_back(SnapshotFileMember{absl::StrCat("node-", i),
                                           absl::StrCat("10.0.0.", i, ":7946"),
                                           static_cast<uint32_t>(1000 + i)});
  return c;
}

// A body framed with a correct header: what a hostile writer can make.
std::string Framed(std::string_view body, uint32_t version = 1) {
  std::string out(kSnapshotFileMagic);
  out.resize(kSnapshotFileHeaderBytes);
  util::EncodeFixed32BigEndian(&out[8], version);
  util::EncodeFixed32BigEndian(&out[12], static_cast<uint32_t>(body.size()));
  const uint32_t crc =
      util::Crc32c(body, util::Crc32c(std::string_view(out).substr(8, 8)));
  util::EncodeFixed32BigEndian(&out[16], crc);
  return out + std::string(body);
}

// The body fields up to the member count, with `count` members declared.
std::string Head(uint64_t count, uint64_t flags = 0) {
  std::string b;
  util::PutVarint64(&b, 1);
  b += "a";
  for (uint64_t v : {uint64_t{5}, uint64_t{2}, flags, uint64_t{0}, uint64_t{0},
                     uint64_t{0}, count})
    util::PutVarint64(&b, v);
  return b;
}

void ExpectError(std::string_view bytes, std::string_view says) {
  auto decoded = DecodeSnapshotFile(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
  EXPECT_NE(std::string(decoded.status().message()).find(says),
            std::string::npos)
      << decoded.status();
}

TEST(SnapshotFileFormatTest, RoundTrips) {
  for (bool left : {false, true}) {
    SnapshotFileContents c = Sample();
    c.left = left;
    auto decoded = DecodeSnapshotFile(EncodeSnapshotFile(c));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, c);
  }
  SnapshotFileContents empty;
  auto decoded = DecodeSnapshotFile(EncodeSnapshotFile(empty));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, empty);
}

TEST(SnapshotFileFormatTest, EveryTruncationIsAClearError) {
  const std::string file = EncodeSnapshotFile(Sample());
  for (size_t n = 0; n < file.size(); ++n) {
    auto decoded = DecodeSnapshotFile(std::string_view(file).substr(0, n));
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << n;
    // Past the magic, it says so.
    if (n >= kSnapshotFileMagic.size()) {
      EXPECT_NE(decoded.status().message().find("truncated"),
                std::string_view::npos)
          << n << ": " << decoded.status();
    }
  }
  ExpectError(file + "x", "follow the body");
}

TEST(SnapshotFileFormatTest, EveryFlippedBitIsCaught) {
  const std::string file = EncodeSnapshotFile(Sample());
  for (size_t i = 0; i < file.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = file;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto decoded = DecodeSnapshotFile(bad);
      EXPECT_FALSE(decoded.ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(SnapshotFileFormatTest, WrongMagicAndVersionSaySo) {
  std::string file = EncodeSnapshotFile(Sample());
  std::string other = file;
  other[0] = 'X';
  ExpectError(other, "not a snapshot file");
  ExpectError("", "not a snapshot file");
  ExpectError(Framed(Head(0), 2), "version 2, but this build reads 1");
}

TEST(SnapshotFileFormatTest, HugeDeclaredLengthsAreRefusedBeforeAllocating) {
  std::string file = EncodeSnapshotFile(Sample());
  util::EncodeFixed32BigEndian(&file[12], 0xFFFFFFFFu);
  ExpectError(file, "over the limit");
  util::EncodeFixed32BigEndian(&file[12], kMaxSnapshotFileBodyBytes);
  ExpectError(file, "truncated");
  // Within a body whose checksum holds: a count, a string length, a
  // varint that goes on, flags this build does not know.
  ExpectError(Framed(Head(uint64_t{1} << 60)), "cannot fit");
  std::string body = Head(1);
  util::PutVarint64(&body, 1'000'000);
  ExpectError(Framed(body), "declares 1000000 bytes");
  ExpectError(Framed(Head(0) + "\xff\xff"), "follow the last member");
  ExpectError(Framed(std::string("\x01"
                                 "a") +
                     std::string(11, '\xff')),
              "not a valid varint");
  ExpectError(Framed(Head(0, 6)), "unknown flags");
  std::string wide = Head(1);
  wide += std::string(
      "\x01"
      "b"
      "\x01"
      "c");
  util::PutVarint64(&wide, uint64_t{1} << 40);
  ExpectError(Framed(wide), "over 32 bits");
}

// ---------------------------------------------------------------- disk

class SnapshotFileDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat(
               "roster-snapfile-", ::getpid(), "-",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "snapshot").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(SnapshotFileDiskTest, WritesAndReadsBack) {
  EXPECT_TRUE(absl::IsNotFound(ReadSnapshotFile(path_).status()));
  ASSERT_TRUE(WriteSnapshotFile(path_, EncodeSnapshotFile(Sample())).ok());
  auto read = ReadSnapshotFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, Sample());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  // A write that cannot happen leaves the old file as it was.
  fs::create_directories(path_ + ".tmp");  // in the temp file's way
  fs::create_directories(path_ + ".tmp/x");
  EXPECT_FALSE(WriteSnapshotFile(path_, "other").ok());
  EXPECT_EQ(*ReadSnapshotFile(path_), Sample());
}

TEST_F(SnapshotFileDiskTest, OversizedAndOddFilesAreRefused) {
  { std::ofstream(path_) << "x"; }
  fs::resize_file(path_, kSnapshotFileHeaderBytes + kMaxSnapshotFileBodyBytes +
                             1);  // sparse
  auto read = ReadSnapshotFile(path_);
  ASSERT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  EXPECT_NE(read.status().message().find("larger than any"),
            std::string_view::npos);
  auto aside = SetSnapshotFileAside(path_);
  ASSERT_TRUE(aside.ok()) << aside.status();
  EXPECT_EQ(*aside, path_ + ".bad");
  EXPECT_TRUE(fs::exists(path_ + ".bad"));
  EXPECT_FALSE(fs::exists(path_));
  fs::create_directories(path_);
  EXPECT_TRUE(absl::IsDataLoss(ReadSnapshotFile(path_).status()));
}

std::shared_ptr<const Snapshot> View(uint64_t incarnation, int members,
                                     MemberState self_state) {
  auto list = std::make_shared<MemberList>();
  Snapshot view;
  view.self.name = "self";
  view.self.addr = "127.0.0.1:1";
  view.self.life = 9;
  view.self.incarnation = incarnation;
  view.self.state = self_state;
  list->push_back(std::make_shared<const MemberInfo>(view.self));
  for (int i = 0; i < members; ++i) {
    MemberInfo m;
    m.name = absl::StrCat("m", i);
    m.addr = absl::StrCat("127.0.0.1:", 100 + i);
    m.life = 50 + i;
    m.state = i % 3 == 2 ? MemberState::kDead : MemberState::kAlive;
    list->push_back(std::make_shared<const MemberInfo>(m));
  }
  view.members = std::move(list);
  return std::make_shared<const Snapshot>(std::move(view));
}

TEST_F(SnapshotFileDiskTest, TheWriterCoalescesAndWritesWhatChanged) {
  std::vector<std::string> logs;
  SnapshotFileWriter writer(
      path_, absl::Milliseconds(300),
      [&](LogLevel, std::string m) { logs.push_back(m); });
  // The first view is written at once; a burst after it, within one
  // interval, is one more write, of the newest.
  writer.Offer(View(1, 3, MemberState::kAlive));
  ASSERT_TRUE(
      WaitUntil([&] { return writer.writes() == 1; }, absl::Seconds(5)));
  for (uint64_t inc = 2; inc <= 50; ++inc)
    writer.Offer(View(inc, 3, MemberState::kAlive));
  ASSERT_TRUE(
      WaitUntil([&] { return writer.writes() == 2; }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(writer.writes(), 2u);
  auto read = ReadSnapshotFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->incarnation, 50u);
  EXPECT_EQ(read->life, 9u);
  ASSERT_EQ(read->members.size(), 2u);  // the dead one is left out
  EXPECT_EQ(read->members[0].name, "m0");
  EXPECT_EQ(read->members[1].life, 51u);
  // A view that records the same is not written again.
  writer.Offer(View(50, 3, MemberState::kAlive));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(writer.writes(), 2u);
  // A leave is written at once, and what is pending at Stop.
  const absl::Time before = absl::Now();
  writer.Offer(View(50, 3, MemberState::kLeft));
  ASSERT_TRUE(
      WaitUntil([&] { return writer.writes() == 3; }, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(250));
  EXPECT_TRUE(ReadSnapshotFile(path_)->left);
  writer.Offer(View(50, 4, MemberState::kLeft));
  writer.Stop();
  EXPECT_EQ(writer.writes(), 4u);
  EXPECT_EQ(ReadSnapshotFile(path_)->members.size(), 3u);
  EXPECT_TRUE(logs.empty());
}

TEST_F(SnapshotFileDiskTest, AFailedWriteIsLoggedOnceAndTheOldFileKept) {
  std::vector<std::string> logs;
  std::mutex mu;
  SnapshotFileWriter writer(path_, absl::Milliseconds(50),
                            [&](LogLevel, std::string m) {
                              std::lock_guard<std::mutex> lock(mu);
                              logs.push_back(m);
                            });
  writer.Offer(View(1, 1, MemberState::kAlive));
  ASSERT_TRUE(
      WaitUntil([&] { return writer.writes() == 1; }, absl::Seconds(5)));
  fs::create_directories(path_ + ".tmp/x");  // every write now fails
  for (uint64_t inc = 2; inc < 6; ++inc) {
    writer.Offer(View(inc, 1, MemberState::kAlive));
    absl::SleepFor(absl::Milliseconds(100));
  }
  writer.Stop();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("not written"), std::string::npos) << logs[0];
  EXPECT_EQ(ReadSnapshotFile(path_)->incarnation, 1u);
}

}  // namespace
}  // namespace roster::net
