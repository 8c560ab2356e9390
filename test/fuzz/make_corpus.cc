// Writes the seed corpus of the binary fuzz targets (fuzz_packet,
// fuzz_frame, fuzz_stream, fuzz_snapshot_file) under the folder given: real,
// valid inputs built with the same encoders roster sends with. The corpus under
// test/fuzz/corpus/ is this program's output; the fuzz_corpus_is_current
// test fails when the two drift apart. (fuzz_scenario's corpus is text,
// written by hand.) The messages are built with the builders every test
// uses (test/common/messages.h).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/wire/codec.h"
#include "core/wire/coordinate.h"
#include "core/wire/frame.h"
#include "core/wire/streams.h"
#include "net/snapshot_file_format.h"
#include "net/stream.h"
#include "proto/roster.pb.h"
#include "roster/member.h"
#include "test/common/messages.h"
#include "test/fuzz/fuzz_keyring.h"

namespace roster::fuzz {
namespace {

namespace fs = std::filesystem;

using test::MakeAck;
using test::MakeAlive;
using test::MakeDead;
using test::MakeHello;
using test::MakeIndirectPing;
using test::MakeNack;
using test::MakePing;
using test::MakeSuspect;
using test::MakeUser;
using test::Payload;
using test::Record;

std::string PushPull() {
  wire::PushPull state;
  state.set_join(true);
  state.set_source("n1");
  const wire::MemberState states[] = {
      wire::MEMBER_STATE_ALIVE, wire::MEMBER_STATE_SUSPECT,
      wire::MEMBER_STATE_DEAD, wire::MEMBER_STATE_LEFT};
  for (int i = 0; i < 4; ++i) {
    *state.add_members() = Record(absl::StrCat("n", i + 1),
                                  absl::StrCat("10.0.0.", i + 1, ":7946"),
                                  i * 3, states[i], i == 0 ? "role=cache" : "");
  }
  state.set_user_state("app-state");
  return core::EncodePushPull(state);
}

std::string Members() {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<MemberInfo> members(3);
  members[0] = {"n1", "10.0.0.1:7946", MemberState::kAlive,
                1,    "role=cache",    now - absl::Seconds(30)};
  members[1] = {"n2", "[::1]:7946", MemberState::kSuspect, 4, "", now};
  members[2] = {"n3", "10.0.0.3:7946",     MemberState::kLeft, 9,
                "",   now - absl::Hours(2)};
  return core::EncodeMemberList(members, now);
}

// fuzz_stream's first byte: raw connection bytes or a kind and body to
// seal, the label, and the size of each read (see fuzz_stream.cc).
std::string Mode(bool sealed, bool labelled, int read_size) {
  return std::string(1,
                     static_cast<char>((sealed ? 1 : 0) | (labelled ? 2 : 0) |
                                       ((read_size - 1) << 2)));
}

std::string KindAndBody(wire::StreamKind kind, std::string_view body) {
  return std::string(1, static_cast<char>(kind)) + std::string(body);
}

bool Write(const fs::path& dir, const std::string& name,
           const std::string& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace
}  // namespace roster::fuzz

int main(int argc, char** argv) {
  using namespace roster::fuzz;
  using roster::core::EncodeAppMessage;
  using roster::core::SealFrame;
  // A stream message as it travels: the length prefix, then its frame.
  auto EncodeStream = [](roster::wire::StreamKind kind, std::string_view body,
                         std::string_view label) {
    return roster::net::LengthPrefixed(
        roster::core::SealStream(kind, body, label, nullptr));
  };
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path packet = out / "fuzz_packet", frame = out / "fuzz_frame",
                 stream = out / "fuzz_stream",
                 snapshot_file = out / "fuzz_snapshot_file";
  for (const fs::path& dir : {packet, frame, stream, snapshot_file}) {
    fs::create_directories(dir);
  }

  std::vector<roster::wire::Message> many;
  for (int i = 0; i < 24; ++i) {
    many.push_back(MakeAlive(absl::StrCat("member-", i),
                             absl::StrCat("10.1.0.", i, ":7946"), i));
  }
  const std::string ping = Payload({MakePing(1, "n2", "n1", "10.0.0.1:7946")});
  const std::string gossip =
      Payload({MakePing(2, "n2", "n1", "10.0.0.1:7946"),
               MakeAlive("n4", "10.0.0.4:7946", 3), MakeSuspect("n5", 1, "n1"),
               MakeDead("n6", 2, "n1")});
  const std::string acks = Payload({MakeAck(7), MakeNack(8)});
  const std::string pp = PushPull();

  bool ok = true;
  ok &= Write(packet, "ping", ping);
  ok &= Write(packet, "ping_gossip", gossip);
  ok &= Write(packet, "indirect_ping",
              Payload({MakeIndirectPing(7, "n3", "10.0.0.3:7946", "n1",
                                        "10.0.0.1:7946", /*want_nack=*/true)}));
  ok &= Write(packet, "ack_nack", acks);
  {
    roster::Coordinate c;
    c.vec[0] = 0.021;
    c.vec[5] = -0.003;
    c.error = 0.2;
    c.height = 0.0004;
    ok &= Write(
        packet, "ack_coordinate",
        Payload({MakeAck(9, "load=1", roster::core::EncodeCoordinate(c))}));
  }
  ok &= Write(
      packet, "alive_meta",
      Payload({MakeAlive("n2", "10.0.0.2:7946", 5, "role=cache;zone=a")}));
  ok &= Write(packet, "user_broadcast",
              Payload({MakeUser("hello, cluster", "n2", 42)}));
  ok &= Write(packet, "leave", Payload({MakeDead("n1", 4, "n1")}));
  ok &= Write(packet, "hello", Payload({MakeHello("n2")}));
  {
    roster::wire::Message pruned = MakeDead("n6", 2, "n6");
    pruned.mutable_dead()->set_life(77);
    pruned.mutable_dead()->set_prune(true);
    ok &= Write(packet, "forced_leave_pruned", Payload({pruned}));
  }
  // Version 2's user events and queries.
  ok &= Write(packet, "user_event",
              Payload({roster::test::MakeUserEvent("deploy", "v42", "n2", 7, 12,
                                                   true)}));
  {
    roster::wire::QueryFilter filter;
    filter.add_nodes("n1");
    roster::wire::TagFilter* tag = filter.add_tags();
    tag->set_key("role");
    tag->set_regex("^(db|cache)$");
    ok &= Write(packet, "query",
                Payload({roster::test::MakeQuery(
                    "load", "cpu", "n2", "10.0.0.2:7946", 7, 13, 3, 2000, true,
                    2, filter.SerializeAsString())}));
  }
  ok &= Write(packet, "query_answers",
              Payload({roster::test::MakeQueryResponse("n2", 7, 3, "n1", true),
                       roster::test::MakeQueryResponse("n2", 7, 3, "n1", false,
                                                       "0.7", true)}));
  // A kind from a later version (13) before an alive: skipped, not refused.
  ok &= Write(packet, "future_kind",
              std::string("\x0a\x04\x6a\x02\x08\x01", 6) +
                  Payload({MakeAlive("n2", "10.0.0.2:7946", 6)}));
  ok &= Write(packet, "utf8_v6",
              Payload({MakeAlive("n\xC3\xB6"
                                 "de-\xE2\x82\xAC",
                                 "[::1]:7946", 1)}));
  ok &= Write(
      packet, "top_incarnation",
      Payload(
          {MakeAlive("n2", "10.0.0.2:7946", roster::core::kMaxIncarnation + 1),
           MakeSuspect("n3", roster::core::kMaxIncarnation, "n1")}));
  ok &= Write(packet, "many_alive", Payload(many));

  ok &= Write(frame, "labelled_gossip", SealFrame(gossip, "prod"));
  ok &= Write(frame, "unlabelled_ping", SealFrame(ping, ""));
  ok &= Write(frame, "other_label", SealFrame(acks, "staging"));
  ok &= Write(frame, "empty_payload", SealFrame("", "prod"));
  ok &= Write(frame, "many_alive", SealFrame(Payload(many), ""));
  {
    // Sealed with the fuzz keyring: its primary key, then its second.
    const roster::Keyring& ring = FuzzKeyring();
    ok &= Write(frame, "sealed_gossip",
                SealFrame(gossip, "prod", &ring, CountingNonces()));
    ok &= Write(frame, "sealed_ping_unlabelled",
                SealFrame(ping, "", &ring, CountingNonces()));
    auto second =
        roster::Keyring::Create({std::string(roster::Keyring::kKeyBytes, 'G')});
    ok &= Write(frame, "sealed_with_second_key",
                SealFrame(acks, "prod", second->get(), CountingNonces()));
  }

  using roster::wire::STREAM_KIND_ERROR;
  using roster::wire::STREAM_KIND_MEMBERS;
  using roster::wire::STREAM_KIND_MESSAGE;
  using roster::wire::STREAM_KIND_OK;
  using roster::wire::STREAM_KIND_PUSH_PULL;
  using roster::wire::STREAM_KIND_REPLY;
  using roster::wire::STREAM_KIND_REQUEST;
  ok &= Write(
      stream, "push_pull_request",
      Mode(false, false, 64) + EncodeStream(STREAM_KIND_PUSH_PULL, pp, ""));
  ok &= Write(stream, "push_pull_reply_labelled",
              Mode(false, true, 7) + EncodeStream(STREAM_KIND_OK, pp, "prod"));
  ok &= Write(stream, "message_request",
              Mode(false, false, 3) +
                  EncodeStream(STREAM_KIND_MESSAGE,
                               EncodeAppMessage("n1", "payload"), ""));
  ok &= Write(stream, "request",
              Mode(false, false, 9) +
                  EncodeStream(STREAM_KIND_REQUEST,
                               EncodeAppMessage("n1", "question", true), ""));
  ok &= Write(
      stream, "reply_with_response",
      Mode(true, false, 12) +
          KindAndBody(STREAM_KIND_REPLY, roster::core::EncodeAppReply(
                                             absl::OkStatus(), "answer")));
  ok &= Write(
      stream, "reply_refused",
      Mode(false, true, 4) +
          EncodeStream(STREAM_KIND_REPLY,
                       roster::core::EncodeAppReply(
                           absl::ResourceExhaustedError("queue full"), ""),
                       "prod"));
  ok &= Write(
      stream, "members_request",
      Mode(false, true, 1) + EncodeStream(STREAM_KIND_MEMBERS, "", "prod"));
  ok &= Write(
      stream, "members_reply",
      Mode(false, false, 16) + EncodeStream(STREAM_KIND_OK, Members(), ""));
  ok &= Write(stream, "error_reply",
              Mode(false, false, 64) +
                  EncodeStream(STREAM_KIND_ERROR, "unknown request kind", ""));
  ok &= Write(stream, "sealed_push_pull",
              Mode(true, false, 32) + KindAndBody(STREAM_KIND_PUSH_PULL, pp));
  ok &= Write(stream, "sealed_members_reply",
              Mode(true, true, 5) + KindAndBody(STREAM_KIND_OK, Members()));
  ok &= Write(
      stream, "sealed_message",
      Mode(true, false, 64) + KindAndBody(STREAM_KIND_MESSAGE,
                                          EncodeAppMessage("n\xC3\xB6", "hi")));
  {
    roster::net::SnapshotFileContents c;
    c.name = "n1";
    c.life = 0xdeadbeef;
    c.incarnation = 12;
    c.written_at = absl::FromUnixSeconds(1'700'000'000);
    ok &= Write(snapshot_file, "alone", roster::net::EncodeSnapshotFile(c));
    for (int i = 2; i < 6; ++i)
      c.members.push_back({absl::StrCat("n", i),
                           absl::StrCat("10.0.0.", i, ":7946"),
                           static_cast<uint32_t>(i * 1000)});
    c.members.push_back({"n\xC3\xB6", "[::1]:7946", 9});
    c.event_clock = 300;
    c.query_clock = 5;
    ok &= Write(snapshot_file, "members", roster::net::EncodeSnapshotFile(c));
    c.left = true;
    ok &= Write(snapshot_file, "left", roster::net::EncodeSnapshotFile(c));
  }
  if (!ok) {
    std::fprintf(stderr, "make_corpus: cannot write under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
