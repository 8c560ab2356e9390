// libFuzzer target: a whole snapshot file (NodeConfig::snapshot_path)
// through net::DecodeSnapshotFile, the file a restarted member reads
// before anything else. A file that decodes is exactly what the encoder
// writes for what was read (every varint is in its shortest form and
// every length exact), so it re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/snapshot_file_format.h"
#include "test/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = roster::net::DecodeSnapshotFile(bytes);
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(roster::net::EncodeSnapshotFile(*decoded) == bytes);
  return 0;
}
