// The runtime over libuv (uv_runtime.h): binding UDP and TCP on one port,
// the core's timers on one libuv timer, and the order of a close, in
// which work already deferred still reports its failures.
#include "net/uv_runtime.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/address.h"

namespace roster::net {
namespace {

constexpr size_t kMaxCachedAddresses = 4096;
constexpr int kBindAttempts = 32;

struct BoundPair {
  int tcp = -1;
  int udp = -1;
  sockaddr_storage addr;
};

// A socket of `type` bound to `addr`, or -errno.
int BindSocket(const sockaddr_storage& addr, int type) {
  int fd = socket(addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  int on = 1, off = 0;
  if (type == SOCK_STREAM)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (addr.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  if (type == SOCK_DGRAM) {
    int size = 4 << 20;  // bursts of gossip; the kernel caps it
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), AddressLength(addr)) !=
      0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

absl::Status BindError(const char* what, const sockaddr_storage& addr,
                       int err) {
  std::string where =
      absl::StrCat("cannot bind ", what, " ", FormatAddress(addr), ": ");
  switch (err) {
    case EADDRINUSE:
      return absl::AlreadyExistsError(absl::StrCat(
          where,
          "the address is already in use (another member or process holds "
          "this port; choose another, or port 0 for any free one)"));
    case EADDRNOTAVAIL:
      return absl::InvalidArgumentError(
          absl::StrCat(where, "that IP address is not on this host"));
    case EACCES:
      return absl::PermissionDeniedError(absl::StrCat(
          where, "permission denied (ports below 1024 need privileges)"));
    case EAFNOSUPPORT:
      return absl::UnavailableError(
          absl::StrCat(where,
                       "this host does not support that address "
                       "family (is IPv6 disabled?)"));
    default:
      return absl::UnavailableError(absl::StrCat(where, strerror(err)));
  }
}

// TCP and UDP on the same port; with port 0, a free port for both.
absl::StatusOr<BoundPair> BindPair(const sockaddr_storage& want) {
  const bool any_port = PortOf(want) == 0;
  for (int attempt = 0;; ++attempt) {
    BoundPair p;
    p.addr = want;
    p.tcp = BindSocket(p.addr, SOCK_STREAM);
    if (p.tcp < 0) return BindError("TCP", p.addr, -p.tcp);
    socklen_t len = sizeof(p.addr);
    getsockname(p.tcp, reinterpret_cast<sockaddr*>(&p.addr), &len);
    p.udp = BindSocket(p.addr, SOCK_DGRAM);
    if (p.udp >= 0) return p;
    close(p.tcp);
    if (!any_port || -p.udp != EADDRINUSE || attempt + 1 >= kBindAttempts)
      return BindError("UDP", p.addr, -p.udp);
  }
}

}  // namespace

UvRuntime::UvRuntime(uv_loop_t* loop, Options options, Host* host,
                     NetCounters* counters)
    : loop_(loop),
      options_(std::move(options)),
      host_(host),
      counters_(counters),
      streams_(loop, options_.streams, counters),
      pool_(loop, options_.pool, counters),
      resolver_(loop, options_.dns_server, counters) {
  closer_.Add(3);  // the streams, the pool and the resolver, each as one
  std::random_device device;
  std::seed_seq seq{device(), device(), device(), device(),
                    device(), device(), device(), device()};
  rng_.seed(seq);
}

UvRuntime::~UvRuntime() = default;

absl::Status UvRuntime::Start() {
  auto pair = BindPair(options_.bind);
  if (!pair.ok()) return pair.status();
  bound_ = pair->addr;
  uv_udp_init(loop_, &udp_);
  uv_timer_init(loop_, &timer_);
  uv_timer_init(loop_, &defer_timer_);
  udp_.data = timer_.data = defer_timer_.data = this;
  closer_.Add(3);
  started_ = true;
  int r = uv_udp_open(&udp_, pair->udp);
  if (r < 0) {
    close(pair->udp);
    close(pair->tcp);
    return absl::UnavailableError(absl::StrCat("UDP socket: ", UvError(r)));
  }
  r = uv_udp_recv_start(
      &udp_,
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* rt = static_cast<UvRuntime*>(h->data);
        *buf = uv_buf_init(rt->recv_buf_, sizeof(rt->recv_buf_));
      },
      [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from,
         unsigned flags) {
        static_cast<UvRuntime*>(h->data)->OnDatagram(n, buf, from, flags);
      });
  if (r < 0) {
    close(pair->tcp);
    return absl::UnavailableError(absl::StrCat("UDP receive: ", UvError(r)));
  }
  return streams_.Listen(
      pair->tcp, [this](const std::string& peer, std::string_view frame,
                        Streams::Respond respond) {
        host_->OnStream(
            peer, frame,
            [respond = std::move(respond)](std::string reply, bool keep_open) {
              respond(reply.empty() ? std::string() : LengthPrefixed(reply),
                      keep_open);
            });
      });
}

absl::Time UvRuntime::Now() { return absl::Now(); }

uint64_t UvRuntime::Random() { return rng_(); }

const sockaddr_storage* UvRuntime::Resolve(const std::string& addr) {
  auto it = addrs_.find(addr);
  if (it != addrs_.end()) return &it->second;
  auto parsed = ParseIpPort(addr);
  if (!parsed.ok()) return nullptr;
  // Addresses come from the member table and from probe requests; a
  // hostile stream of made-up ones only ever costs a cache refill.
  if (addrs_.size() >= kMaxCachedAddresses) addrs_.clear();
  return &addrs_.emplace(addr, *parsed).first->second;
}

void UvRuntime::SendPacket(const std::string& to, std::string bytes) {
  if (closer_.closing() || !started_) return;
  const sockaddr_storage* dest = Resolve(to);
  if (dest == nullptr) {
    ++counters_->datagram_send_errors;
    return;
  }
  sockaddr_storage mapped;
  if (bound_.ss_family == AF_INET6 && dest->ss_family == AF_INET) {
    mapped = MapToIpv6(*dest);
    dest = &mapped;
  }
  const auto* sa = reinterpret_cast<const sockaddr*>(dest);
  uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
  int r = uv_udp_try_send(&udp_, &buf, 1, sa);
  if (r >= 0) return;
  if (r != UV_EAGAIN) {
    ++counters_->datagram_send_errors;
    return;
  }
  // The socket's buffer is full: queue it with libuv.
  struct Send {
    uv_udp_send_t req;
    std::string bytes;
  };
  auto* send = new Send{{}, std::move(bytes)};
  buf = uv_buf_init(send->bytes.data(),
                    static_cast<unsigned>(send->bytes.size()));
  r = uv_udp_send(&send->req, &udp_, &buf, 1, sa,
                  [](uv_udp_send_t* req, int status) {
                    auto* s = reinterpret_cast<Send*>(req);
                    if (status < 0 && status != UV_ECANCELED) {
                      ++static_cast<UvRuntime*>(req->handle->data)
                            ->counters_->datagram_send_errors;
                    }
                    delete s;
                  });
  if (r < 0) {
    ++counters_->datagram_send_errors;
    delete send;
  }
}

void UvRuntime::OnDatagram(ssize_t n, const uv_buf_t* buf, const sockaddr* from,
                           unsigned flags) {
  if (n <= 0 || from == nullptr || closer_.closing())
    return;  // nothing, or an error
  if (flags & UV_UDP_PARTIAL) {
    ++counters_->datagrams_truncated;
    return;
  }
  host_->OnPacket(FormatAddress(from),
                  std::string_view(buf->base, static_cast<size_t>(n)));
}

void UvRuntime::StartSync(const std::string& to, std::string request) {
  Exchange(to, request, [this, to](absl::StatusOr<std::string> response) {
    host_->OnSyncDone(to, std::move(response));
  });
}

bool UvRuntime::ResolveSeed(const std::string& seed) {
  auto spec = ParseSeed(seed);
  if (!spec.ok() || spec->kind == SeedSpec::Kind::kAddress) return false;
  // The resolver may answer before Resolve() returns; the core is told
  // later, never from inside this call.
  resolver_.Resolve({*spec}, [this, seed](std::vector<Resolver::Result> r) {
    Defer([this, seed, result = std::move(r.front())] {
      if (closer_.closing()) return;
      if (!result.status.ok()) {
        host_->OnSeedResolved(seed, result.status);
      } else {
        host_->OnSeedResolved(seed, result.addrs);
      }
    });
  });
  return true;
}

const sockaddr_storage* UvRuntime::ResolveOrFail(const std::string& to,
                                                 Reply& done) {
  const sockaddr_storage* dest = Resolve(to);
  if (dest == nullptr) {
    Defer([done = std::move(done), to] {
      done(absl::InvalidArgumentError(
          absl::StrCat("'", to, "' is not an IP address and port")));
    });
  }
  return dest;
}

void UvRuntime::Exchange(const std::string& to, std::string_view frame,
                         Reply done) {
  const sockaddr_storage* dest = ResolveOrFail(to, done);
  if (dest == nullptr) return;
  streams_.Exchange(*dest, LengthPrefixed(frame), std::move(done));
}

void UvRuntime::Call(const std::string& to, std::string_view frame,
                     absl::Duration timeout, Reply done) {
  const sockaddr_storage* dest = ResolveOrFail(to, done);
  if (dest == nullptr) return;
  pool_.Call(*dest, to, LengthPrefixed(frame), timeout, std::move(done));
}

void UvRuntime::After(absl::Duration delay, Timer timer) {
  if (closer_.closing() || !started_) return;
  int64_t ns = absl::ToInt64Nanoseconds(delay);
  uint64_t ms = ns <= 0 ? 0 : static_cast<uint64_t>((ns + 999999) / 1000000);
  // Timer slack: a deadline is rounded up to a multiple of 1/20 of its
  // delay (at most 25 ms), so the timers of a member, and of the members
  // sharing a loop, fire together in one wakeup instead of one each. A
  // timer fires up to 5% late, never early.
  uint64_t due = uv_now(loop_) + ms;
  const uint64_t slack = std::clamp<uint64_t>(ms / 20, 1, 25);
  due = (due + slack - 1) / slack * slack;
  timers_.push(Pending{due, next_seq_++, std::move(timer)});
  ArmTimer();
}

void UvRuntime::ArmTimer() {
  if (timers_.empty() || closer_.closing()) return;
  const uint64_t due = timers_.top().due_ms;
  if (due >= armed_due_) return;
  armed_due_ = due;
  const uint64_t now = uv_now(loop_);
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) { static_cast<UvRuntime*>(t->data)->OnTimerFired(); },
      due > now ? due - now : 0, 0);
}

void UvRuntime::OnTimerFired() {
  armed_due_ = UINT64_MAX;
  const uint64_t now = uv_now(loop_);
  while (!closer_.closing() && !timers_.empty() &&
         timers_.top().due_ms <= now) {
    Timer timer = std::move(const_cast<Pending&>(timers_.top()).timer);
    timers_.pop();
    host_->OnTimer(timer);
  }
  ArmTimer();
}

void UvRuntime::Defer(std::function<void()> fn) {
  if (closer_.closed()) {
    fn();  // nothing runs later any more
    return;
  }
  deferred_.push_back(std::move(fn));
  // Without a running timer, the close runs what waits (see Close).
  if (deferred_.size() > 1 || !started_ || closer_.closing()) return;
  uv_timer_start(
      &defer_timer_,
      [](uv_timer_t* t) {
        auto* rt = static_cast<UvRuntime*>(t->data);
        std::vector<std::function<void()>> run;
        run.swap(rt->deferred_);
        for (auto& fn : run) fn();
      },
      0, 0);
}

void UvRuntime::Close(std::function<void()> closed) {
  if (closer_.closing()) return;
  closer_.Close(
      [this] {
        if (started_) {
          uv_udp_recv_stop(&udp_);
          CloseHandle<&UvRuntime::closer_>(&udp_);
          CloseHandle<&UvRuntime::closer_>(&timer_);
          CloseHandle<&UvRuntime::closer_>(&defer_timer_);
        }
        streams_.CloseAll([this] { closer_.Done(); });
        pool_.CloseAll([this] { closer_.Done(); });
        resolver_.Close([this] { closer_.Done(); });
      },
      [this, closed = std::move(closed)] {
        // Work deferred before the close still runs (it reports failures).
        std::vector<std::function<void()>> run;
        run.swap(deferred_);
        for (auto& fn : run) fn();
        if (closed) closed();  // may destroy this runtime
      });
}

}  // namespace roster::net
