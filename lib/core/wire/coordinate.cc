#include "core/wire/coordinate.h"

#include <bit>

#include "util/coding.h"

namespace roster::core {
namespace {

void PutFloat(std::string* out, double value) {
  char bytes[4];
  util::EncodeFixed32BigEndian(
      bytes, std::bit_cast<uint32_t>(static_cast<float>(value)));
  out->append(bytes, 4);
}

double GetFloat(const char* p) {
  return std::bit_cast<float>(util::DecodeFixed32BigEndian(p));
}

}  // namespace

std::string EncodeCoordinate(const Coordinate& c) {
  std::string out;
  out.reserve(kCoordinateBytes);
  out.push_back(static_cast<char>(kCoordinateLayout));
  out.push_back(static_cast<char>(Coordinate::kDimensions));
  for (double x : c.vec) PutFloat(&out, x);
  PutFloat(&out, c.error);
  PutFloat(&out, c.adjustment);
  PutFloat(&out, c.height);
  return out;
}

CoordinateRead DecodeCoordinate(std::string_view bytes, Coordinate* out) {
  if (bytes.empty()) return CoordinateRead::kAbsent;
  if (static_cast<uint8_t>(bytes[0]) != kCoordinateLayout)
    return CoordinateRead::kUnknownLayout;
  if (bytes.size() != kCoordinateBytes ||
      static_cast<uint8_t>(bytes[1]) != Coordinate::kDimensions)
    return CoordinateRead::kMalformed;
  const char* p = bytes.data() + 2;
  for (double& x : out->vec) {
    x = GetFloat(p);
    p += 4;
  }
  out->error = GetFloat(p);
  out->adjustment = GetFloat(p + 4);
  out->height = GetFloat(p + 8);
  return CoordinateRead::kOk;
}

}  // namespace roster::core
