// Seeds (seeds.h): parsing the forms Join takes, and c-ares driven by the
// loop's polls and one timer, whose answers are gathered per Resolve call.
#include "net/seeds.h"

#include <ares.h>
#include <arpa/nameser.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "util/string_view.h"

namespace roster::net {
namespace {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == '_'))
      return false;
  }
  return true;
}

constexpr char kSeedForms[] =
    "(expected HOST:PORT, [IPV6]:PORT, dns:NAME:PORT or srv:NAME)";

}  // namespace

absl::StatusOr<SeedSpec> ParseSeed(std::string_view text) {
  SeedSpec spec;
  spec.text = std::string(text);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("seed '", util::ToAbsl(text),
                                                   "' ", util::ToAbsl(why), " ",
                                                   kSeedForms));
  };
  if (absl::StartsWith(util::ToAbsl(text), "srv:")) {
    spec.kind = SeedSpec::Kind::kSrv;
    spec.host = std::string(text.substr(4));
    if (!ValidName(spec.host)) return bad("does not name a DNS name");
    return spec;
  }
  const bool dns = absl::StartsWith(util::ToAbsl(text), "dns:");
  auto hp = SplitHostPort(dns ? text.substr(4) : text);
  if (!hp.ok()) return bad(util::ToStd(hp.status().message()));
  if (hp->port == 0) return bad("has port 0, where no member listens");
  spec.port = hp->port;
  sockaddr_storage addr;
  if (!dns && ParseIp(hp->host, hp->port, &addr)) {
    spec.kind = SeedSpec::Kind::kAddress;
    spec.host = FormatAddress(addr);
    return spec;
  }
  if (!ValidName(hp->host))
    return bad("has neither an IP address nor a DNS name");
  spec.kind = SeedSpec::Kind::kDns;
  spec.host = hp->host;
  return spec;
}

absl::Status ValidateDnsServer(std::string_view text) {
  auto addr = ParseIpPort(text);
  if (!addr.ok() || PortOf(*addr) == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("DNS server '", util::ToAbsl(text),
                     "' is not IP:PORT (for example 127.0.0.1:53)"));
  return absl::OkStatus();
}

struct Resolver::Batch {
  std::vector<Result> results;
  int pending = 1;  // released once every lookup has been issued
  Done done;
  void Release() {
    if (--pending == 0) {
      Done d = std::move(done);
      d(std::move(results));
    }
  }
};

// One outstanding c-ares call.
struct Resolver::Lookup {
  Resolver* resolver;
  std::shared_ptr<Batch> batch;
  size_t index;
  uint16_t port;
  std::string name;
};

struct Resolver::Poll {
  Resolver* resolver;
  int fd;
  uv_poll_t poll;
};

Resolver::Resolver(uv_loop_t* loop, std::string dns_server,
                   NetCounters* counters)
    : loop_(loop), dns_server_(std::move(dns_server)), counters_(counters) {}

Resolver::~Resolver() = default;

absl::Status Resolver::EnsureChannel() {
  if (channel_ != nullptr) return absl::OkStatus();
  if (closer_.closing())
    return absl::CancelledError("the node is shutting down");
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options options{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  options.sock_state_cb = &Resolver::SockState;
  options.sock_state_cb_data = this;
  options.timeout = 1000;
  options.tries = 3;
  char dns_only[] = "b";
  if (!dns_server_.empty()) {
    // An explicit server answers alone: no /etc/hosts.
    mask |= ARES_OPT_LOOKUPS;
    options.lookups = dns_only;
  }
  int r = ares_init_options(&channel_, &options, mask);
  if (r != ARES_SUCCESS) {
    channel_ = nullptr;
    return absl::UnavailableError(
        absl::StrCat("cannot start the DNS resolver: ", ares_strerror(r)));
  }
  if (!dns_server_.empty()) {
    r = ares_set_servers_ports_csv(channel_, dns_server_.c_str());
    if (r != ARES_SUCCESS) {
      ares_destroy(channel_);
      channel_ = nullptr;
      return absl::InvalidArgumentError(
          absl::StrCat("DNS server '", dns_server_, "': ", ares_strerror(r)));
    }
  }
  if (!timer_open_) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    timer_open_ = true;
    closer_.Add();
  }
  return absl::OkStatus();
}

void Resolver::Resolve(const std::vector<SeedSpec>& seeds, Done done) {
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  batch->results.resize(seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    const SeedSpec& s = seeds[i];
    Result& r = batch->results[i];
    r.seed = s.text;
    if (s.kind == SeedSpec::Kind::kAddress) {
      r.addrs.push_back(s.host);
      continue;
    }
    if (absl::Status st = EnsureChannel(); !st.ok()) {
      r.status = st;
      continue;
    }
    ++counters_->dns_lookups;
    if (s.kind == SeedSpec::Kind::kDns) {
      LookupAddrs(batch, i, s.host, s.port);
    } else {
      LookupSrv(batch, i, s.host);
    }
  }
  UpdateTimer();
  batch->Release();
}

// The error for a lookup that found nothing: why c-ares gave up, or that
// the answer held no records of the kind asked for.
absl::Status LookupFailed(int status, const char* kind, const std::string& name,
                          const char* none) {
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
    return absl::UnavailableError("the node shut down during the DNS lookup");
  return absl::UnavailableError(absl::StrCat(
      kind, " lookup of ", name,
      " failed: ", status == ARES_SUCCESS ? none : ares_strerror(status)));
}

void Resolver::LookupAddrs(std::shared_ptr<Batch> batch, size_t index,
                           const std::string& name, uint16_t port) {
  ++batch->pending;
  auto* lookup = new Lookup{this, std::move(batch), index, port, name};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* info) {
        std::unique_ptr<Lookup> l(static_cast<Lookup*>(arg));
        Result& r = l->batch->results[l->index];
        if (status == ARES_SUCCESS && info != nullptr) {
          for (ares_addrinfo_node* n = info->nodes; n != nullptr;
               n = n->ai_next) {
            if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
            sockaddr_storage addr{};
            std::memcpy(&addr, n->ai_addr,
                        std::min<size_t>(n->ai_addrlen, sizeof(addr)));
            SetPort(&addr, l->port);
            std::string text = FormatAddress(addr);
            if (std::find(r.addrs.begin(), r.addrs.end(), text) ==
                r.addrs.end())
              r.addrs.push_back(std::move(text));
          }
        }
        if (info != nullptr) ares_freeaddrinfo(info);
        if (r.addrs.empty() && r.status.ok()) {
          ++l->resolver->counters_->dns_failures;
          r.status =
              LookupFailed(status, "DNS", l->name, "no A or AAAA records");
        }
        l->batch->Release();
      },
      lookup);
}

void Resolver::LookupSrv(std::shared_ptr<Batch> batch, size_t index,
                         const std::string& name) {
  ++batch->pending;
  auto* lookup = new Lookup{this, std::move(batch), index, 0, name};
  ares_query(
      channel_, name.c_str(), ns_c_in, ns_t_srv,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Lookup> l(static_cast<Lookup*>(arg));
        Resolver* self = l->resolver;
        Result& r = l->batch->results[l->index];
        ares_srv_reply* srv = nullptr;
        if (status == ARES_SUCCESS)
          status = ares_parse_srv_reply(abuf, alen, &srv);
        if (status != ARES_SUCCESS || srv == nullptr) {
          ++self->counters_->dns_failures;
          r.status = LookupFailed(status, "SRV", l->name, "no SRV records");
        } else if (!self->closer_.closing()) {
          for (ares_srv_reply* s = srv; s != nullptr; s = s->next) {
            self->LookupAddrs(l->batch, l->index, s->host, s->port);
          }
          self->UpdateTimer();
        }
        if (srv != nullptr) ares_free_data(srv);
        l->batch->Release();
      },
      lookup);
}

void Resolver::UpdateTimer() {
  if (channel_ == nullptr || !timer_open_ || closer_.closing()) return;
  timeval tv;
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    uv_timer_stop(&timer_);
    return;
  }
  uint64_t ms = static_cast<uint64_t>(tv.tv_sec) * 1000 +
                static_cast<uint64_t>(tv.tv_usec + 999) / 1000;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Resolver*>(t->data);
        ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        self->UpdateTimer();
      },
      ms, 0);
}

void Resolver::SockState(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  auto it = self->polls_.find(fd);
  if (!readable && !writable) {
    if (it == self->polls_.end()) return;
    Poll* p = it->second;
    self->polls_.erase(it);
    ClosePoll(p);
    return;
  }
  Poll* p;
  if (it == self->polls_.end()) {
    p = new Poll{self, fd, {}};
    uv_poll_init_socket(self->loop_, &p->poll, fd);
    p->poll.data = p;
    self->polls_[fd] = p;
    self->closer_.Add();
  } else {
    p = it->second;
  }
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(&p->poll, events, [](uv_poll_t* h, int status, int ev) {
    auto* p = static_cast<Poll*>(h->data);
    Resolver* self = p->resolver;
    if (self->channel_ == nullptr) return;
    if (status < 0) ev = UV_READABLE | UV_WRITABLE;  // let c-ares see it
    ares_process_fd(self->channel_,
                    (ev & UV_READABLE) ? p->fd : ARES_SOCKET_BAD,
                    (ev & UV_WRITABLE) ? p->fd : ARES_SOCKET_BAD);
    self->UpdateTimer();
  });
}

void Resolver::ClosePoll(Poll* poll) {
  uv_poll_stop(&poll->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll->poll), [](uv_handle_t* h) {
    auto* p = static_cast<Poll*>(h->data);
    Resolver* r = p->resolver;
    delete p;
    r->closer_.Done();
  });
}

void Resolver::Close(std::function<void()> closed) {
  closer_.Close(
      [this] {
        if (channel_ != nullptr) {
          ares_channel channel = channel_;
          ares_destroy(channel);  // fails the lookups in flight
          channel_ = nullptr;
        }
        for (auto& [fd, p] : polls_) ClosePoll(p);
        polls_.clear();
        if (timer_open_) {
          timer_open_ = false;
          CloseHandle<&Resolver::closer_>(&timer_);
        }
      },
      std::move(closed));
}

}  // namespace roster::net
