#include "cache.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "absl/time/clock.h"
#include "codec.h"
#include "placement.h"

namespace cache {
namespace {

// What one instance asks another (a Request's payload, see codec.h):
//   put:  "P", clock, writer, key, value, "1" if the sender holds it
//         reply "S", clock, writer: the version held after it
//   get:  "G", key
//         reply "V", clock, writer, value; or "M" (missing)
// Anything else gets "E" and why.
constexpr std::string_view kPut = "P";
constexpr std::string_view kGet = "G";

std::optional<uint64_t> ParseClock(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return v;
}

std::optional<Version> ParseVersion(std::string_view clock,
                                    std::string_view writer) {
  auto c = ParseClock(clock);
  if (!c) return std::nullopt;
  return Version{*c, std::string(writer)};
}

bool Live(const roster::MemberInfo& m) {
  return m.state == roster::MemberState::kAlive ||
         m.state == roster::MemberState::kSuspect;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Cache>> Cache::Start(Options options) {
  std::unique_ptr<Cache> cache(new Cache(std::move(options)));
  const Options& o = cache->options_;
  auto config = roster::NodeConfig::ForProfile(o.profile, o.name, o.bind);
  Cache* self = cache.get();
  config.on_request = [self](std::string_view from, std::string_view payload) {
    return self->OnRequest(from, payload);
  };
  config.on_event = [self](const roster::Event& event) {
    switch (event.type) {
      case roster::EventType::kJoined:
      case roster::EventType::kFailed:
      case roster::EventType::kLeft:
      case roster::EventType::kRestarted:
        self->Wake();
        break;
      default:
        break;
    }
  };
  auto node = roster::Node::Start(std::move(config));
  if (!node.ok()) return node.status();
  cache->node_ = *std::move(node);
  cache->replicator_ = std::thread([self] { self->ReplicationLoop(); });
  if (!o.seeds.empty()) {
    if (absl::Status s = cache->node_->Join(o.seeds); !s.ok()) return s;
  }
  return cache;
}

Cache::~Cache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (replicator_.joinable()) replicator_.join();
  if (node_) node_->Shutdown();
}

absl::Status Cache::Leave() { return node_->Leave(absl::Seconds(3)); }

std::vector<roster::MemberInfo> Cache::LiveMembers() const {
  std::vector<roster::MemberInfo> live = node_->Members();
  live.erase(
      std::remove_if(live.begin(), live.end(),
                     [](const roster::MemberInfo& m) { return !Live(m); }),
      live.end());
  return live;
}

uint64_t Cache::passes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passes_;
}

Version Cache::NextVersion() {
  // Wall-clock milliseconds, kept rising: a later write at any instance
  // wins unless clocks are skewed by more than the writes are apart.
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  std::lock_guard<std::mutex> lock(mu_);
  last_clock_ = std::max(now, last_clock_ + 1);
  return Version{last_clock_, node_->name()};
}

absl::StatusOr<Version> Cache::Push(const std::string& owner,
                                    const std::string& key, const Entry& entry,
                                    bool sender_holds) {
  const std::string clock = std::to_string(entry.version.clock);
  auto reply = node_->Request(owner,
                              Encode({kPut, clock, entry.version.writer, key,
                                      entry.value, sender_holds ? "1" : "0"}),
                              options_.request_timeout);
  if (!reply.ok()) return reply.status();
  auto fields = Decode(*reply);
  if (!fields || fields->size() != 3 || (*fields)[0] != "S")
    return absl::DataLossError("a malformed reply to a put");
  auto held = ParseVersion((*fields)[1], (*fields)[2]);
  if (!held) return absl::DataLossError("a malformed version");
  return *held;
}

absl::StatusOr<int> Cache::Put(std::string_view key_view,
                               std::string_view value) {
  const std::string key(key_view);
  Entry entry{std::string(value), NextVersion()};
  const roster::MemberInfo self = node_->Self();
  std::vector<roster::MemberInfo> owners =
      Owners(key, LiveMembers(), options_.replicas);
  int written = 0;
  std::vector<Holder> confirmed;
  std::string failures;
  for (const roster::MemberInfo& owner : owners) {
    if (owner.name == self.name) {
      store_.Apply(key, entry);
      ++written;
      continue;
    }
    auto held = Push(owner.name, key, entry, /*sender_holds=*/false);
    if (held.ok() && !(*held < entry.version)) {
      ++written;
      confirmed.emplace_back(owner.name, owner.life);
    } else {
      failures +=
          " " + owner.name + ": " + std::string(held.status().message());
    }
  }
  for (Holder& h : confirmed) store_.Confirm(key, entry.version, std::move(h));
  if (written == 0)
    return absl::UnavailableError("no owner of the key took it:" + failures);
  // An owner that missed it gets it from the other's next pass.
  if (written < static_cast<int>(owners.size())) Wake();
  return written;
}

absl::StatusOr<std::string> Cache::Get(std::string_view key_view) {
  const std::string key(key_view);
  const std::string& self = node_->name();
  std::vector<roster::MemberInfo> owners =
      Owners(key, LiveMembers(), options_.replicas);
  // This instance first, then the nearest by round-trip time; a member
  // not probed yet (no RTT) last.
  std::stable_sort(
      owners.begin(), owners.end(),
      [&](const roster::MemberInfo& a, const roster::MemberInfo& b) {
        auto rank = [&](const roster::MemberInfo& m) {
          if (m.name == self) return absl::ZeroDuration();
          if (m.rtt <= absl::ZeroDuration()) return absl::InfiniteDuration();
          return m.rtt;
        };
        return rank(a) < rank(b);
      });
  for (const roster::MemberInfo& owner : owners) {
    if (owner.name == self) {
      if (auto e = store_.Get(key)) return e->value;
      continue;
    }
    auto reply = node_->Request(owner.name, Encode({kGet, key}),
                                options_.request_timeout);
    if (!reply.ok()) continue;
    auto fields = Decode(*reply);
    if (fields && fields->size() == 4 && (*fields)[0] == "V")
      return std::string((*fields)[3]);
  }
  // Keys being moved: a copy here that its new owners may not have yet.
  if (auto e = store_.Get(key)) return e->value;
  return absl::NotFoundError("no such key");
}

std::string Cache::OnRequest(std::string_view from, std::string_view payload) {
  auto fields = Decode(payload);
  if (!fields || fields->empty()) return Encode({"E", "malformed"});
  const auto& f = *fields;
  if (f[0] == kPut && f.size() == 6) {
    auto version = ParseVersion(f[1], f[2]);
    if (!version) return Encode({"E", "bad version"});
    const std::string key(f[3]);
    const Version held = store_.Apply(key, Entry{std::string(f[4]), *version});
    // A holder that pushed its copy need not be sent it back.
    if (f[5] == "1" && held == *version) {
      if (auto sender = node_->Lookup(from))
        store_.Confirm(key, held, Holder(sender->name, sender->life));
    }
    return Encode({"S", std::to_string(held.clock), held.writer});
  }
  if (f[0] == kGet && f.size() == 2) {
    auto e = store_.Get(std::string(f[1]));
    if (!e) return Encode({"M"});
    return Encode(
        {"V", std::to_string(e->version.clock), e->version.writer, e->value});
  }
  return Encode({"E", "unknown request"});
}

void Cache::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  news_ = true;
  cv_.notify_all();
}

void Cache::ReplicationLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.pass_interval),
                 [&] { return stopping_ || news_; });
    if (stopping_) break;
    news_ = false;
    lock.unlock();
    ReplicateOnce();
    lock.lock();
    ++passes_;
  }
}

// Every key held here goes to each owner not yet known to hold its
// version; a key this instance no longer owns is dropped once every owner
// holds it. An owner that fails a push is skipped for the rest of the
// pass, so a member that died unseen costs one timeout, not one per key.
void Cache::ReplicateOnce() {
  const roster::MemberInfo self = node_->Self();
  const std::vector<roster::MemberInfo> members = LiveMembers();
  std::set<std::string> unreachable;
  for (const auto& [key, version] : store_.Versions()) {
    bool owned_here = false;
    bool all_hold = true;
    const std::vector<roster::MemberInfo> owners =
        Owners(key, members, options_.replicas);
    std::set<Holder> owner_set;
    for (const roster::MemberInfo& o : owners)
      owner_set.emplace(o.name, o.life);
    store_.KeepOnly(key, owner_set);
    for (const roster::MemberInfo& owner : owners) {
      if (owner.name == self.name) {
        owned_here = true;
        continue;
      }
      const Holder holder(owner.name, owner.life);
      if (store_.Confirmed(key, version, holder)) continue;
      if (unreachable.count(owner.name) != 0) {
        all_hold = false;
        continue;
      }
      auto entry = store_.Get(key);
      if (!entry || !(entry->version == version)) {
        all_hold = false;
        continue;
      }
      auto held = Push(owner.name, key, *entry, /*sender_holds=*/true);
      if (!held.ok()) {
        unreachable.insert(owner.name);
        all_hold = false;
        continue;
      }
      if (*held < version) {
        all_hold = false;
        continue;
      }
      store_.Confirm(key, version, holder);
    }
    if (!owned_here && all_hold) store_.Drop(key, version);
  }
}

}  // namespace cache
