// Network coordinates: each direct probe's ack carries the target's
// coordinate, and its round trip moves ours (core/coordinate.h).
#include <string_view>

#include "core/swim_impl.h"
#include "core/wire/coordinate.h"

namespace roster {

void Swim::Impl::LearnCoordinate(const Member& target, std::string_view bytes,
                                 absl::Duration rtt) {
  if (!cfg_.coordinates) return;
  Coordinate theirs;
  switch (core::DecodeCoordinate(bytes, &theirs)) {
    case core::CoordinateRead::kOk:
      break;
    case core::CoordinateRead::kAbsent:
    case core::CoordinateRead::kUnknownLayout:
      return;  // an older build, one with coordinates off, or a newer one
    case core::CoordinateRead::kMalformed:
      ++counters_.coordinates_refused;
      return;
  }
  if (coordinates_.Update(target.name(), theirs, rtt, random_) !=
      core::CoordinateClient::Outcome::kApplied) {
    ++counters_.coordinates_refused;
    return;
  }
  counters_.coordinate_resets = coordinates_.resets();
  table_.SetCoordinate(target, theirs);
  NoteOwnCoordinate();
}

void Swim::Impl::NoteOwnCoordinate() {
  table_.SetCoordinate(*self_, coordinates_.coordinate());
  own_coordinate_ = core::EncodeCoordinate(coordinates_.coordinate());
}

void Swim::Impl::ForgetCoordinatePeers() {
  // Members are forgotten only as a probe pass ends, and rarely; a filter
  // per member the table still holds is the bound, checked in O(1).
  if (coordinates_.peers() <= table_.size()) return;
  coordinates_.ForgetUnless(
      [&](std::string_view name) { return table_.Find(name) != nullptr; });
}

}  // namespace roster
