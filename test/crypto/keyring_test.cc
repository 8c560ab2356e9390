// The keyring, sealed frames and admission networks, each on its own.
#include "roster/keyring.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/networks.h"
#include "core/wire/frame.h"
#include "gtest/gtest.h"
#include "test/common/test_keys.h"

namespace roster {
namespace {

std::function<uint64_t()> Counter() {
  return [n = uint64_t{0}]() mutable { return ++n; };
}

TEST(KeyringTest, CreateRefusesBadKeyLists) {
  EXPECT_FALSE(Keyring::Create({}).ok());
  EXPECT_FALSE(Keyring::Create({"short"}).ok());
  EXPECT_FALSE(Keyring::Create({Key('a'), Key('a')}).ok());
  std::vector<std::string> many(Keyring::kMaxKeys + 1);
  for (size_t i = 0; i < many.size(); ++i)
    many[i] = Key(static_cast<char>('a' + i));
  EXPECT_FALSE(Keyring::Create(many).ok());
  many.pop_back();
  EXPECT_TRUE(Keyring::Create(many).ok());
}

TEST(KeyringTest, SealedOpensWithAnyInstalledKeyOnly) {
  auto sender = Ring({Key('a')});
  auto both = Ring({Key('b'), Key('a')});
  auto other = Ring({Key('b')});
  const uint8_t nonce[Keyring::kNonceBytes] = {1, 2, 3};
  std::string sealed;
  sender->Seal("hello", "header", nonce, &sealed);
  EXPECT_EQ(sealed.size(), 5 + Keyring::kOverhead);
  std::string opened;
  ASSERT_TRUE(both->Open(sealed, "header", &opened));
  EXPECT_EQ(opened, "hello");
  EXPECT_FALSE(other->Open(sealed, "header", &opened));
  EXPECT_FALSE(both->Open(sealed, "another header", &opened));
  EXPECT_FALSE(
      both->Open(sealed.substr(0, Keyring::kOverhead - 1), "header", &opened));
}

TEST(KeyringTest, EveryChangedBitIsRejected) {
  auto ring = Ring({Key('k')});
  const uint8_t nonce[Keyring::kNonceBytes] = {9};
  std::string sealed;
  ring->Seal("membership news", "hdr", nonce, &sealed);
  std::string opened;
  for (size_t i = 0; i < sealed.size() * 8; ++i) {
    std::string changed = sealed;
    changed[i / 8] = static_cast<char>(changed[i / 8] ^ (1 << (i % 8)));
    EXPECT_FALSE(ring->Open(changed, "hdr", &opened)) << "bit " << i;
  }
}

TEST(KeyringTest, RotationSteps) {
  auto ring = Ring({Key('a')});
  EXPECT_TRUE(ring->Install(Key('b')).ok());
  EXPECT_TRUE(ring->Install(Key('b')).ok()) << "installing twice is fine";
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->Keys().front(), Key('a'));
  EXPECT_FALSE(ring->UsePrimary(Key('c')).ok()) << "not installed";
  EXPECT_TRUE(ring->UsePrimary(Key('b')).ok());
  EXPECT_EQ(ring->Keys(), (std::vector<std::string>{Key('b'), Key('a')}));
  EXPECT_FALSE(ring->Remove(Key('b')).ok()) << "the primary stays";
  EXPECT_FALSE(ring->Remove(Key('c')).ok());
  EXPECT_TRUE(ring->Remove(Key('a')).ok());
  EXPECT_EQ(ring->Keys(), std::vector<std::string>{Key('b')});
  EXPECT_FALSE(ring->Install("short").ok());

  // What is sealed now opens only where the new key is installed.
  const uint8_t nonce[Keyring::kNonceBytes] = {};
  std::string sealed, opened;
  ring->Seal("x", "", nonce, &sealed);
  EXPECT_FALSE(Ring({Key('a')})->Open(sealed, "", &opened));
  EXPECT_TRUE(Ring({Key('a'), Key('b')})->Open(sealed, "", &opened));
}

TEST(KeyringTest, KeysRoundTripThroughBase64) {
  const std::string key = Keyring::GenerateKey();
  EXPECT_EQ(key.size(), Keyring::kKeyBytes);
  EXPECT_NE(key, Keyring::GenerateKey());
  const std::string text = Keyring::EncodeKey(key);
  EXPECT_EQ(text.size(), 44u);
  auto back = Keyring::DecodeKey(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, key);
  EXPECT_FALSE(Keyring::DecodeKey("not base64!").ok());
  EXPECT_FALSE(Keyring::DecodeKey(Keyring::EncodeKey("sixteen bytes...")).ok());
  EXPECT_FALSE(Keyring::DecodeKey("").ok());
}

class KeyringFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/roster-keyring-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/keyring";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }
  std::string dir_, path_;
};

TEST_F(KeyringFileTest, LoadsKeysPrimaryFirst) {
  Write("# rotated 2026-11\n\n" + Keyring::EncodeKey(Key('p')) + "\n  " +
            Keyring::EncodeKey(Key('q')) + "  \r\n",
        0600);
  auto ring = Keyring::Load(path_);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->Keys(), (std::vector<std::string>{Key('p'), Key('q')}));
}

TEST_F(KeyringFileTest, RefusesAFileOthersMayRead) {
  Write(Keyring::EncodeKey(Key('p')) + "\n", 0644);
  auto ring = Keyring::Load(path_);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(ring.status().message().find("644"), std::string::npos)
      << ring.status();
  Write(Keyring::EncodeKey(Key('p')) + "\n", 0660);
  EXPECT_FALSE(Keyring::Load(path_).ok()) << "group access too";
}

TEST_F(KeyringFileTest, NamesTheBadLine) {
  Write(Keyring::EncodeKey(Key('p')) + "\nnot a key\n", 0600);
  auto ring = Keyring::Load(path_);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.status().message().find("line 2"), std::string::npos)
      << ring.status();
  Write("# only a comment\n", 0600);
  EXPECT_FALSE(Keyring::Load(path_).ok()) << "no key at all";
  EXPECT_FALSE(Keyring::Load(dir_ + "/missing").ok());
  EXPECT_FALSE(Keyring::Load(dir_).ok()) << "a directory";
}

// Frames sealed with a keyring (the wire format of core/wire.h).
TEST(SealedFrameTest, RoundTripsWithLabelAsAssociatedData) {
  auto ring = Ring({Key('a')});
  const std::string frame =
      core::SealFrame("payload", "prod", ring.get(), Counter());
  EXPECT_EQ(frame.size(), core::FrameOverhead("prod", ring.get()) + 7);
  EXPECT_EQ(frame[1] & 0x06, 0x04) << "encrypted, no checksum";
  EXPECT_EQ(frame.find("payload"), std::string::npos) << "not in clear";
  std::string opened;
  auto payload = core::OpenFrame(frame, "prod", 1 << 16, ring.get(), &opened);
  ASSERT_TRUE(payload.ok()) << payload.error.message;
  EXPECT_EQ(payload.value, "payload");

  auto wrong_label =
      core::OpenFrame(frame, "test", 1 << 16, ring.get(), &opened);
  EXPECT_EQ(wrong_label.error.reason, DropReason::kWrongLabel);
  // A label rewritten in transit to ours still fails: it is authenticated.
  std::string relabelled = frame;
  relabelled.replace(3, 4, "test");
  auto forged =
      core::OpenFrame(relabelled, "test", 1 << 16, ring.get(), &opened);
  EXPECT_EQ(forged.error.reason, DropReason::kUndecryptable);
}

TEST(SealedFrameTest, NoncesDifferPerFrame) {
  auto ring = Ring({Key('a')});
  auto random = Counter();
  EXPECT_NE(core::SealFrame("same", "", ring.get(), random),
            core::SealFrame("same", "", ring.get(), random));
}

TEST(SealedFrameTest, WithoutTheKeyOrAnyKeyringItIsDropped) {
  auto ring = Ring({Key('a')});
  const std::string frame = core::SealFrame("p", "", ring.get(), Counter());
  std::string opened;
  EXPECT_EQ(core::OpenFrame(frame, "", 1 << 16).error.reason,
            DropReason::kUndecryptable);
  EXPECT_EQ(core::OpenFrame(frame, "", 1 << 16, Ring({Key('b')}).get(), &opened)
                .error.reason,
            DropReason::kUndecryptable);
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    EXPECT_FALSE(
        core::OpenFrame(frame.substr(0, cut), "", 1 << 16, ring.get(), &opened)
            .ok())
        << cut;
  }
}

TEST(SealedFrameTest, PlaintextPolicy) {
  auto ring = Ring({Key('a')});
  const std::string plain = core::SealFrame("p", "");
  std::string opened;
  EXPECT_EQ(
      core::OpenFrame(plain, "", 1 << 16, ring.get(), &opened).error.reason,
      DropReason::kPlaintext);
  ring->set_plaintext(Keyring::Plaintext::kAccept);
  EXPECT_TRUE(core::OpenFrame(plain, "", 1 << 16, ring.get(), &opened).ok());
  EXPECT_EQ(core::SealFrame("p", "", ring.get(), Counter())[1] & 0x04, 0x04)
      << "kAccept still sends sealed";
  ring->set_plaintext(Keyring::Plaintext::kSend);
  const std::string sent = core::SealFrame("p", "", ring.get(), Counter());
  EXPECT_EQ(sent, plain) << "kSend sends plaintext";
  EXPECT_EQ(core::FrameOverhead("", ring.get()),
            core::FrameOverhead("") - 4 + Keyring::kOverhead)
      << "budgets allow for sealing whatever the policy";
  EXPECT_TRUE(core::OpenFrame(plain, "", 1 << 16, ring.get(), &opened).ok());
  ring->set_plaintext(Keyring::Plaintext::kAccept);
  EXPECT_TRUE(core::OpenFrame(core::SealFrame("p", "", ring.get(), Counter()),
                              "", 1 << 16, ring.get(), &opened)
                  .ok());
}

TEST(NetworksTest, ParsesAddresses) {
  EXPECT_TRUE(core::ParseIp("10.1.2.3").has_value());
  EXPECT_TRUE(core::ParseIp("::1").has_value());
  EXPECT_TRUE(core::ParseIp("fe80::1%eth0").has_value());
  EXPECT_TRUE(core::ParseIp("::ffff:10.0.0.1").has_value());
  EXPECT_EQ(core::ParseIp("::ffff:10.0.0.1"), core::ParseIp("10.0.0.1"));
  EXPECT_EQ(core::ParseIp("2001:db8::"),
            core::ParseIp("2001:0db8:0:0:0:0:0:0"));
  for (const char* bad : {"", "10.1.2", "10.1.2.3.4", "256.1.1.1", "1..2.3",
                          "a.b.c.d", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3",
                          "12345::", "g::1", "10.0.0.1 "}) {
    EXPECT_FALSE(core::ParseIp(bad).has_value()) << bad;
  }
  EXPECT_TRUE(core::ParseHostIp("10.0.0.1:7946").has_value());
  EXPECT_TRUE(core::ParseHostIp("[::1]:7946").has_value());
  EXPECT_FALSE(core::ParseHostIp("example.com:7946").has_value());
  EXPECT_FALSE(core::ParseHostIp("[::1:7946").has_value());
}

TEST(NetworksTest, AdmitsOnlyListedNetworks) {
  auto list =
      core::NetworkList::Parse({"10.0.0.0/8", "192.168.1.7", "fd00::/8"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->Admits("10.200.3.4:7946"));
  EXPECT_TRUE(list->Admits("192.168.1.7:1"));
  EXPECT_FALSE(list->Admits("192.168.1.8:1"));
  EXPECT_TRUE(list->Admits("[fd12::5]:7946"));
  EXPECT_TRUE(list->Admits("[::ffff:10.0.0.1]:7946"));
  EXPECT_FALSE(list->Admits("11.0.0.1:7946"));
  EXPECT_FALSE(list->Admits("[fe80::1]:7946"));
  EXPECT_FALSE(list->Admits("cache-1.internal:7946")) << "names never";
  auto odd = core::NetworkList::Parse({"10.1.2.3/20"});
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Admits("10.1.15.255:1"));
  EXPECT_FALSE(odd->Admits("10.1.16.0:1"));
  EXPECT_TRUE(core::NetworkList::Parse({})->Admits("anything"));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x",
                          "fd00::/129", "example.com/8", "/8"}) {
    auto parsed = core::NetworkList::Parse({bad});
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find(bad), std::string::npos);
  }
}

}  // namespace
}  // namespace roster
