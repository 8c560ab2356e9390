// Lines for the operator (Delegate::OnLog): what is logged where it
// happens, and drops, which can come by the thousand from one bad peer, at
// a bounded rate per reason.
#include <string>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "util/string_view.h"

namespace roster {
namespace {

// What a drop of each reason suggests to an operator.
std::string_view DropHint(DropReason reason) {
  switch (reason) {
    case DropReason::kBadVersion:
      return "a frame version this build does not speak: a peer of a newer "
             "or foreign build";
    case DropReason::kWrongLabel:
      return "another cluster's label, or a missing one";
    case DropReason::kUndecryptable:
      return "sealed with no key this member holds";
    case DropReason::kPlaintext:
      return "unencrypted while this member requires encryption";
    case DropReason::kNotAdmitted:
      return "outside the allowed networks, or vetoed";
    case DropReason::kTableFull:
      return "new members past Limits::max_members";
    case DropReason::kAddressConflict:
      return "a live member claimed at another address";
    default:
      return {};
  }
}

}  // namespace

void Swim::Impl::Drop(DropReason reason) {
  counters_.Drop(reason);
  DropLog& log = drop_logs_[static_cast<size_t>(reason)];
  ++log.unlogged;
  const absl::Time now = rt_.Now();
  if (now - log.logged < kDropLogInterval) return;
  std::string line = absl::StrCat("dropped ", log.unlogged,
                                  log.unlogged == 1 ? " input" : " inputs",
                                  " as ", util::ToAbsl(DropReasonName(reason)));
  if (log.logged != absl::InfinitePast())
    absl::StrAppend(&line, " in the last ",
                    absl::FormatDuration(now - log.logged));
  if (const std::string_view hint = DropHint(reason); !hint.empty())
    absl::StrAppend(&line, " (", util::ToAbsl(hint), ")");
  Log(LogLevel::kWarning, line);
  log.logged = now;
  log.unlogged = 0;
}

}  // namespace roster
