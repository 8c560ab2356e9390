// Unit tests of lib/net/stream: the FrameReader that gathers one
// length-prefixed stream message from TCP reads of any size.
#include "net/stream.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace roster::net {
namespace {

std::string Prefixed(std::string_view frame) {
  const auto n = static_cast<uint32_t>(frame.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(frame);
  return out;
}

TEST(FrameReaderTest, GathersAFrameFromPiecesOfAnySize) {
  const std::string frame = "0123456789";
  const std::string wire = Prefixed(frame);
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    FrameReader reader(1024);
    for (size_t at = 0; at < wire.size(); at += piece) {
      EXPECT_FALSE(reader.complete());
      ASSERT_TRUE(reader.Append(std::string_view(wire).substr(at, piece)));
      EXPECT_EQ(reader.has_length(), at + piece >= kLengthPrefixBytes);
    }
    ASSERT_TRUE(reader.complete()) << "pieces of " << piece;
    EXPECT_EQ(reader.declared(), frame.size());
    EXPECT_EQ(reader.TakeFrame(), frame);
  }
}

TEST(FrameReaderTest, IgnoresBytesPastTheFrame) {
  FrameReader reader(1024);
  ASSERT_TRUE(reader.Append(Prefixed("abc")));
  EXPECT_FALSE(reader.has_excess());
  ASSERT_TRUE(reader.Append("trailing"));
  ASSERT_TRUE(reader.complete());
  EXPECT_TRUE(reader.has_excess());
  EXPECT_EQ(reader.TakeFrame(), "abc");
}

TEST(FrameReaderTest, RefusesAnEmptyOrOversizedDeclaration) {
  FrameReader empty(1024);
  EXPECT_FALSE(empty.Append(std::string(4, '\0')));
  EXPECT_TRUE(empty.has_length());
  EXPECT_EQ(empty.declared(), 0u);

  FrameReader big(16);
  EXPECT_TRUE(big.Append(std::string_view("\0\0", 2)));
  EXPECT_FALSE(big.Append(std::string_view("\0\x11", 2)));
  EXPECT_EQ(big.declared(), 17u);
  EXPECT_FALSE(big.complete());

  FrameReader exact(16);
  EXPECT_TRUE(exact.Append(Prefixed(std::string(16, 'x'))));
  EXPECT_TRUE(exact.complete());
}

}  // namespace
}  // namespace roster::net
