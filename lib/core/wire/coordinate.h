// A network coordinate's bytes in Ack.coordinate (doc/wire_format.md
// section 2.10): a fixed layout rather than a protobuf message, so that
// its size is known and its numbers are read without a parser.
//
//   byte 0      layout: 1
//   byte 1      dimensions: 8
//   then        vec[0..7], error, adjustment, height: IEEE 754 binary32,
//               big-endian, 4 bytes each (seconds; error has no unit)
//
// 46 bytes in all. Single precision is ample: coordinates are tens of
// milliseconds, kept to within nanoseconds.
#ifndef ROSTER_CORE_WIRE_COORDINATE_H_
#define ROSTER_CORE_WIRE_COORDINATE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "roster/coordinate.h"

namespace roster::core {

inline constexpr uint8_t kCoordinateLayout = 1;
inline constexpr size_t kCoordinateBytes =
    2 + 4 * (Coordinate::kDimensions + 3);
// What the field's rule (fields.h, kCoordinate) allows: room for a later
// layout of more dimensions or doubles, and no more.
inline constexpr size_t kMaxCoordinateBytes = 128;

std::string EncodeCoordinate(const Coordinate& c);

enum class CoordinateRead : uint8_t {
  kOk,
  kAbsent,         // empty: a build before coordinates, or one with them off
  kUnknownLayout,  // a later layout: ignored
  kMalformed,      // the wrong size or dimensionality for its layout
};
// Reads `bytes` into *out. The numbers are not checked here: a peer's
// coordinate is judged where it is used (core/coordinate.h, IsPlausible).
CoordinateRead DecodeCoordinate(std::string_view bytes, Coordinate* out);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_COORDINATE_H_
