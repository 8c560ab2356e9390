// QueryMembers: a member's list for someone outside the cluster (`roster
// members`, scripts), without joining and without a Node: a loop of its
// own for one TCP exchange, the request and reply framed by the core.
#include <uv.h>

#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "net/stream.h"
#include "net/streams.h"
#include "roster/node.h"
#include "roster/requests.h"
#include "util/string_view.h"

namespace roster {

absl::StatusOr<std::vector<MemberInfo>> QueryMembers(std::string_view addr,
                                                     std::string_view label,
                                                     absl::Duration timeout,
                                                     const Keyring* keyring) {
  auto dest = net::ParseIpPort(addr);
  if (!dest.ok()) return dest.status();
  uv_loop_t loop;
  if (int r = uv_loop_init(&loop); r != 0)
    return absl::InternalError(
        absl::StrCat("cannot create an event loop: ", uv_strerror(r)));
  absl::StatusOr<std::string> frame = absl::UnknownError("no answer");
  NetCounters counters;
  net::StreamOptions options;
  options.connect_timeout = options.idle_timeout = options.stream_timeout =
      timeout;
  options.max_frame_bytes = 64 << 20;
  {
    net::Streams streams(&loop, options, &counters);
    streams.Exchange(
        *dest, net::LengthPrefixed(MembersRequest(label, keyring)),
        [&](absl::StatusOr<std::string> f) { frame = std::move(f); });
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  auto fail = [&](absl::Status s) {
    return absl::Status(s.code(),
                        absl::StrCat(util::ToAbsl(addr), ": ", s.message()));
  };
  if (!frame.ok()) return fail(frame.status());
  Limits limits;
  limits.max_members = 10'000'000;
  auto members = ReadMembersReply(*frame, label, keyring, absl::Now(), limits);
  if (!members.ok()) return fail(members.status());
  return members;
}

}  // namespace roster
