// Writes the seed corpus of the binary fuzz targets (fuzz_packet,
// fuzz_frame, fuzz_stream) under the folder given: real, valid inputs built
// with the same encoders roster sends with. The corpus under
// test/fuzz/corpus/ is this program's output; the fuzz_corpus_is_current
// test fails when the two drift apart. (fuzz_scenario's corpus is text,
// written by hand.)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/streams.h"
#include "core/wire.h"
#include "net/stream.h"
#include "proto/roster.pb.h"
#include "roster/member.h"
#include "test/fuzz/fuzz_keyring.h"

namespace roster::fuzz {
namespace {

namespace fs = std::filesystem;

wire::Message Ping(uint32_t seq, std::string target) {
  wire::Message m;
  m.mutable_ping()->set_seq(seq);
  m.mutable_ping()->set_target(target);
  m.mutable_ping()->set_source("n1");
  m.mutable_ping()->set_source_addr("10.0.0.1:7946");
  return m;
}

wire::Message IndirectPing() {
  wire::Message m;
  wire::IndirectPing& p = *m.mutable_indirect_ping();
  p.set_seq(7);
  p.set_target("n3");
  p.set_target_addr("10.0.0.3:7946");
  p.set_source("n1");
  p.set_source_addr("10.0.0.1:7946");
  p.set_want_nack(true);
  return m;
}

wire::Message Ack(uint32_t seq, bool nack = false) {
  wire::Message m;
  if (nack) {
    m.mutable_nack()->set_seq(seq);
  } else {
    m.mutable_ack()->set_seq(seq);
  }
  return m;
}

wire::Message Alive(std::string name, std::string addr, uint64_t incarnation,
                    std::string meta = "") {
  wire::Message m;
  m.mutable_alive()->set_name(name);
  m.mutable_alive()->set_addr(addr);
  m.mutable_alive()->set_incarnation(incarnation);
  m.mutable_alive()->set_meta(meta);
  return m;
}

wire::Message Suspect(std::string name, uint64_t incarnation) {
  wire::Message m;
  m.mutable_suspect()->set_name(name);
  m.mutable_suspect()->set_incarnation(incarnation);
  m.mutable_suspect()->set_from("n1");
  return m;
}

wire::Message Dead(std::string name, uint64_t incarnation, std::string from) {
  wire::Message m;
  m.mutable_dead()->set_name(name);
  m.mutable_dead()->set_incarnation(incarnation);
  m.mutable_dead()->set_from(from);
  return m;
}

wire::Message User(std::string payload) {
  wire::Message m;
  m.mutable_user()->set_payload(payload);
  m.mutable_user()->set_origin("n2");
  m.mutable_user()->set_id(42);
  return m;
}

// A packet payload: its messages encoded as Swim piggybacks them.
std::string Packet(const std::vector<wire::Message>& messages) {
  std::string payload;
  for (const wire::Message& m : messages) {
    payload += core::EncodeMessageEntry(m);
  }
  return payload;
}

std::string PushPull() {
  wire::PushPull state;
  state.set_join(true);
  state.set_source("n1");
  const wire::MemberState states[] = {
      wire::MEMBER_STATE_ALIVE, wire::MEMBER_STATE_SUSPECT,
      wire::MEMBER_STATE_DEAD, wire::MEMBER_STATE_LEFT};
  for (int i = 0; i < 4; ++i) {
    wire::MemberRecord& r = *state.add_members();
    r.set_name(absl::StrCat("n", i + 1));
    r.set_addr(absl::StrCat("10.0.0.", i + 1, ":7946"));
    r.set_incarnation(i * 3);
    r.set_state(states[i]);
    if (i == 0) r.set_meta("role=cache");
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
                 stream = out / "fuzz_stream";
  for (const fs::path& dir : {packet, frame, stream}) {
    fs::create_directories(dir);
  }

  std::vector<roster::wire::Message> many;
  for (int i = 0; i < 24; ++i) {
    many.push_back(Alive(absl::StrCat("member-", i),
                         absl::StrCat("10.1.0.", i, ":7946"), i));
  }
  const std::string ping = Packet({Ping(1, "n2")});
  const std::string gossip =
      Packet({Ping(2, "n2"), Alive("n4", "10.0.0.4:7946", 3), Suspect("n5", 1),
              Dead("n6", 2, "n1")});
  const std::string acks = Packet({Ack(7), Ack(8, /*nack=*/true)});
  const std::string pp = PushPull();

  bool ok = true;
  ok &= Write(packet, "ping", ping);
  ok &= Write(packet, "ping_gossip", gossip);
  ok &= Write(packet, "indirect_ping", Packet({IndirectPing()}));
  ok &= Write(packet, "ack_nack", acks);
  ok &= Write(packet, "alive_meta",
              Packet({Alive("n2", "10.0.0.2:7946", 5, "role=cache;zone=a")}));
  ok &= Write(packet, "user_broadcast", Packet({User("hello, cluster")}));
  ok &= Write(packet, "leave", Packet({Dead("n1", 4, "n1")}));
  ok &= Write(packet, "utf8_v6",
              Packet({Alive("n\xC3\xB6"
                            "de-\xE2\x82\xAC",
                            "[::1]:7946", 1)}));
  ok &= Write(
      packet, "top_incarnation",
      Packet({Alive("n2", "10.0.0.2:7946", roster::core::kMaxIncarnation + 1),
              Suspect("n3", roster::core::kMaxIncarnation)}));
  ok &= Write(packet, "many_alive", Packet(many));

  ok &= Write(frame, "labelled_gossip", SealFrame(gossip, "prod"));
  ok &= Write(frame, "unlabelled_ping", SealFrame(ping, ""));
  ok &= Write(frame, "other_label", SealFrame(acks, "staging"));
  ok &= Write(frame, "empty_payload", SealFrame("", "prod"));
  ok &= Write(frame, "many_alive", SealFrame(Packet(many), ""));
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
  ok &= Write(
      stream, "push_pull_request",
      Mode(false, false, 64) + EncodeStream(STREAM_KIND_PUSH_PULL, pp, ""));
  ok &= Write(stream, "push_pull_reply_labelled",
              Mode(false, true, 7) + EncodeStream(STREAM_KIND_OK, pp, "prod"));
  ok &= Write(stream, "message_request",
              Mode(false, false, 3) +
                  EncodeStream(STREAM_KIND_MESSAGE,
                               EncodeAppMessage("n1", "payload"), ""));
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
  if (!ok) {
    std::fprintf(stderr, "make_corpus: cannot write under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
