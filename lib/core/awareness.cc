#include "core/awareness.h"

#include <algorithm>

namespace roster::core {

void Awareness::ApplyDelta(int delta) {
  score_ = std::clamp(score_ + delta, 0, max_ - 1);
}

}  // namespace roster::core
