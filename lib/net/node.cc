// roster::Node: a Swim driven by a UvRuntime on one libuv loop, with the
// application's calls marshalled to that loop from any thread.
#include "roster/node.h"

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "net/address.h"
#include "net/seeds.h"
#include "net/stream.h"
#include "net/streams.h"
#include "net/strings.h"
#include "net/uv_runtime.h"
#include "roster/requests.h"
#include "roster/swim.h"

namespace roster {
namespace {

using net::Absl;

// A deep copy: absl::Status shares its message between copies through a
// reference count that lives in (uninstrumented) libabsl, so handing a
// copy to another thread confuses ThreadSanitizer.
absl::Status Detached(const absl::Status& s) {
  return absl::Status(s.code(), s.message());
}

// A status one thread waits for and another sets.
class Waiter {
 public:
  void Set(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.has_value()) return;
    status_ = Detached(status);
    cv_.notify_all();
  }
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return status_.has_value(); });
    return Detached(*status_);
  }
  // nullopt when `timeout` passed first.
  std::optional<absl::Status> WaitFor(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return status_.has_value(); }))
      return std::nullopt;
    return Detached(*status_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<absl::Status> status_;
};

// Picks an address to advertise when bound to a wildcard: the first
// non-loopback interface address of the bound family (IPv4 first for a
// dual-stack socket).
std::optional<std::string> InterfaceAddress(const sockaddr_storage& bound) {
  uv_interface_address_t* ifaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifaces, &count) != 0) return std::nullopt;
  std::optional<std::string> v4, v6;
  for (int i = 0; i < count; ++i) {
    if (ifaces[i].is_internal) continue;
    sockaddr_storage a{};
    if (ifaces[i].address.address4.sin_family == AF_INET) {
      std::memcpy(&a, &ifaces[i].address.address4, sizeof(sockaddr_in));
      if (!v4) {
        net::SetPort(&a, net::PortOf(bound));
        v4 = net::FormatAddress(a);
      }
    } else if (ifaces[i].address.address6.sin6_family == AF_INET6) {
      const auto& in6 = ifaces[i].address.address6.sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&in6)) continue;  // needs a scope id
      std::memcpy(&a, &ifaces[i].address.address6, sizeof(sockaddr_in6));
      if (!v6) {
        net::SetPort(&a, net::PortOf(bound));
        v6 = net::FormatAddress(a);
      }
    }
  }
  uv_free_interface_addresses(ifaces, count);
  if (bound.ss_family == AF_INET) return v4;
  return v4 ? v4 : v6;
}

}  // namespace

NodeConfig NodeConfig::ForProfile(Profile profile, std::string name,
                                  std::string bind_addr) {
  NodeConfig c;
  c.swim = Config::ForProfile(profile, std::move(name), "");
  c.bind_addr = std::move(bind_addr);
  switch (profile) {
    case Profile::kLan:
      break;
    case Profile::kWan:
      c.connect_timeout = absl::Seconds(10);
      c.idle_timeout = absl::Seconds(10);
      c.stream_timeout = absl::Seconds(30);
      break;
    case Profile::kLocal:
      c.connect_timeout = absl::Seconds(1);
      c.idle_timeout = absl::Seconds(1);
      c.stream_timeout = absl::Seconds(2);
      break;
  }
  return c;
}

class Node::Impl : public net::UvRuntime::Host,
                   public Delegate,
                   public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(NodeConfig config) : config_(std::move(config)) {}
  ~Impl() override;

  // Validates the config, binds and starts the member. When it fails with
  // handles_ready(), Shutdown() and, on our own loop, RunUntilClosed().
  absl::Status Open();
  bool handles_ready() const { return handles_ready_; }
  void RunThread();
  void RunUntilClosed();
  bool OnLoopThread() const {
    return std::this_thread::get_id() == loop_thread_.load();
  }
  // Runs `fn` on the loop thread; false if the node has shut down.
  bool Post(std::function<void()> fn);
  // Runs `fn` on the loop thread and returns its result; nullopt if the
  // node has shut down.
  template <typename F>
  auto Call(F fn) -> std::optional<decltype(fn())>;
  void Shutdown();

  void JoinAsync(const std::vector<std::string>& seeds,
                 std::function<void(absl::Status)> done);
  void StartLeave(std::shared_ptr<Waiter> waiter);
  void SendToAsync(std::string name, std::string payload,
                   std::function<void(absl::Status)> done);

  Swim& swim() { return *swim_; }
  // On the loop thread, where every sealing and opening happens (in the
  // Swim, which holds the keyring).
  void SetKeyring(std::shared_ptr<Keyring> keyring) {
    swim_->SetKeyring(std::move(keyring));
  }
  NetCounters net_counters() const { return net_counters_; }
  const std::string& name() const { return config_.swim.name; }
  const std::string& addr() const { return config_.swim.advertise_addr; }

  // UvRuntime::Host
  void OnPacket(std::string_view from, std::string_view bytes) override;
  void OnTimer(const Timer& timer) override;
  void OnSyncDone(const std::string& to,
                  absl::StatusOr<std::string> response) override;
  std::string OnStream(const std::string& peer,
                       std::string_view frame) override;
  void OnSeedResolved(
      const std::string& seed,
      const absl::StatusOr<std::vector<std::string>>& addrs) override;

  // Delegate
  void OnEvent(const Event& event) override {
    if (config_.on_event) config_.on_event(event);
  }
  void OnBroadcast(std::string_view payload) override {
    if (config_.on_broadcast) config_.on_broadcast(payload);
  }
  std::string LocalState(bool join) override {
    return config_.local_state ? config_.local_state(join) : std::string();
  }
  void MergeRemoteState(std::string_view state, bool join) override {
    if (config_.merge_remote_state) config_.merge_remote_state(state, join);
  }
  bool AllowMember(const MemberInfo& member) override {
    return !config_.allow_member || config_.allow_member(member);
  }
  void OnJoinDone(const JoinResult& result) override;
  absl::Status OnMessage(std::string_view from,
                         std::string_view payload) override;

 private:
  void Log(LogLevel level, std::string_view message) {
    if (config_.on_log) config_.on_log(level, message);
  }
  void AfterInput();
  void BeginClose();
  void HandleClosed();
  void RunTasks();

  NodeConfig config_;
  NetCounters net_counters_;
  uv_loop_t* loop_ = nullptr;
  std::unique_ptr<uv_loop_t> own_loop_;
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_;
  uv_async_t async_;
  int open_handles_ = 0;
  bool handles_ready_ = false;
  std::unique_ptr<net::UvRuntime> runtime_;
  std::unique_ptr<Swim> swim_;

  std::mutex join_mu_;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  bool accepting_ = true;  // guarded by mu_
  bool closing_ = false;   // loop thread only
  // While the handles close on a caller's loop; guarded by mu_.
  std::shared_ptr<Impl> keep_alive_;

  // Join calls waiting for Delegate::OnJoinDone, by token.
  absl::flat_hash_map<uint64_t, std::function<void(absl::Status)>> joins_;
  uint64_t next_join_token_ = 1;
  std::vector<std::shared_ptr<Waiter>> leave_waiters_;
};

Node::Impl::~Impl() {
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
}

absl::Status Node::Impl::Open() {
  // The config first, before any socket: the advertise address may still
  // be to be derived from the bound one.
  Config check = config_.swim;
  if (check.advertise_addr.empty()) {
    // Swim::Create checks the derived address, and the networks with it.
    check.advertise_addr = "0.0.0.0:0";
    check.allowed_networks.clear();
  }
  if (absl::Status s = check.Validate(); !s.ok()) return s;
  auto bind = net::ParseIpPort(config_.bind_addr);
  if (!bind.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("bind address: ", bind.status().message()));
  if (!config_.dns_server.empty()) {
    if (absl::Status s = net::ValidateDnsServer(config_.dns_server); !s.ok())
      return s;
  }
  if (config_.loop != nullptr) {
    loop_ = config_.loop;
  } else {
    own_loop_ = std::make_unique<uv_loop_t>();
    if (int r = uv_loop_init(own_loop_.get()); r != 0) {
      own_loop_.reset();
      return absl::InternalError(
          absl::StrCat("cannot create an event loop: ", uv_strerror(r)));
    }
    loop_ = own_loop_.get();
  }
  // Until the loop runs (on our thread or the caller's), this thread is
  // the loop's.
  loop_thread_ = std::this_thread::get_id();
  uv_async_init(loop_, &async_,
                [](uv_async_t* a) { static_cast<Impl*>(a->data)->RunTasks(); });
  async_.data = this;
  open_handles_ = 1;

  net::UvRuntime::Options options;
  options.bind = *bind;
  options.streams.connect_timeout = config_.connect_timeout;
  options.streams.idle_timeout = config_.idle_timeout;
  options.streams.stream_timeout = config_.stream_timeout;
  options.streams.max_inbound = config_.max_inbound_streams;
  // The core's rule (Config::allowed_networks), asked on accept so that
  // an outsider never takes an inbound slot. swim_ is set below, before
  // the loop can deliver a connection.
  options.streams.admit = [this](const std::string& peer) {
    return swim_ != nullptr && swim_->Admits(peer);
  };
  // The largest push-pull frame, or a message with its header.
  options.streams.max_frame_bytes =
      std::max(config_.swim.limits.max_stream_bytes,
               config_.max_message_bytes) +
      4096;
  options.streams.max_inbound_bytes = 2 * options.streams.max_frame_bytes;
  options.dns_server = config_.dns_server;
  runtime_ = std::make_unique<net::UvRuntime>(loop_, std::move(options), this,
                                              &net_counters_);
  ++open_handles_;  // the runtime
  handles_ready_ = true;
  if (absl::Status s = runtime_->Start(); !s.ok()) return s;

  // What to advertise.
  const sockaddr_storage& bound = runtime_->bound();
  std::string& advertise = config_.swim.advertise_addr;
  if (advertise.empty()) {
    if (net::IsWildcard(bound)) {
      auto picked = InterfaceAddress(bound);
      if (!picked)
        return absl::FailedPreconditionError(absl::StrCat(
            "bound to the wildcard address ", net::FormatAddress(bound),
            " and found no non-loopback interface address to advertise: set "
            "the advertise address"));
      advertise = *picked;
    } else {
      advertise = net::FormatAddress(bound);
    }
  } else {
    auto adv = net::ParseIpPort(advertise);
    if (!adv.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("advertise address: ", adv.status().message(),
                       " (it must be an IP address and port peers can reach)"));
    if (net::IsWildcard(*adv))
      return absl::InvalidArgumentError(
          absl::StrCat("advertise address ", advertise,
                       " is a wildcard; peers need a reachable address"));
    if (net::PortOf(*adv) == 0) net::SetPort(&*adv, net::PortOf(bound));
    advertise = net::FormatAddress(*adv);
  }
  auto swim = Swim::Create(config_.swim, runtime_.get(), this);
  if (!swim.ok()) return swim.status();
  swim_ = std::move(*swim);
  swim_->Start();
  return absl::OkStatus();
}

void Node::Impl::RunThread() {
  loop_thread_ = std::thread::id();  // nobody's until the thread says so
  thread_ = std::thread([this] {
    loop_thread_ = std::this_thread::get_id();
    uv_run(loop_, UV_RUN_DEFAULT);
  });
}

void Node::Impl::RunUntilClosed() {
  uv_run(loop_, UV_RUN_DEFAULT);
  uv_loop_close(loop_);
}

bool Node::Impl::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) return false;
  tasks_.push_back(std::move(fn));
  // Under the lock: the loop closes the async handle only after it has
  // seen accepting_ turn false, which cannot happen while we hold it.
  uv_async_send(&async_);
  return true;
}

template <typename F>
auto Node::Impl::Call(F fn) -> std::optional<decltype(fn())> {
  using R = decltype(fn());
  if (OnLoopThread()) {
    if (closing_) return std::nullopt;
    return fn();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::optional<R> result;
  bool done = false;
  bool posted = Post([&] {
    std::optional<R> r;
    if (!closing_) r = fn();
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    done = true;
    cv.notify_all();
  });
  if (!posted) return std::nullopt;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return result;
}

void Node::Impl::RunTasks() {
  std::vector<std::function<void()>> tasks;
  bool close;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
    close = !accepting_;
  }
  for (auto& task : tasks) task();
  if (close) BeginClose();
}

void Node::Impl::Shutdown() {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = accepting_;
    accepting_ = false;
    // On a caller's loop the handles close after this returns, perhaps
    // after the Node is gone: the Impl lives until they have.
    if (first && config_.loop != nullptr) keep_alive_ = shared_from_this();
    if (first && !OnLoopThread()) uv_async_send(&async_);
  }
  if (first && OnLoopThread()) RunTasks();  // what was queued, then close
  if (own_loop_ != nullptr && !OnLoopThread()) {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (thread_.joinable()) {
      thread_.join();
      uv_loop_close(own_loop_.get());
    }
  }
}

void Node::Impl::BeginClose() {
  if (closing_) return;
  closing_ = true;
  for (auto& w : leave_waiters_) w->Set(absl::CancelledError("shut down"));
  leave_waiters_.clear();
  auto joins = std::move(joins_);
  joins_.clear();
  for (auto& [token, done] : joins)
    done(absl::CancelledError("the node shut down"));
  auto closed = [](uv_handle_t* h) {
    static_cast<Impl*>(h->data)->HandleClosed();
  };
  runtime_->Close([this] { HandleClosed(); });
  // Post() refuses new tasks by now, and every queued one has run.
  {
    std::lock_guard<std::mutex> lock(mu_);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), closed);
  }
}

void Node::Impl::HandleClosed() {
  if (--open_handles_ > 0) return;
  // Everything is closed: on our own loop uv_run returns; on a caller's,
  // the Impl may go once the Node has.
  std::shared_ptr<Impl> self;
  {
    std::lock_guard<std::mutex> lock(mu_);
    self.swap(keep_alive_);
  }
  // `self` may be the last reference: nothing touches `this` after it.
}

// ---------------------------------------------------------------- inputs

void Node::Impl::OnPacket(std::string_view from, std::string_view bytes) {
  swim_->HandlePacket(from, bytes);
  AfterInput();
}

void Node::Impl::OnTimer(const Timer& timer) {
  swim_->HandleTimer(timer);
  AfterInput();
}

void Node::Impl::AfterInput() {
  if (leave_waiters_.empty() || !swim_->LeaveComplete()) return;
  for (auto& w : leave_waiters_) w->Set(absl::OkStatus());
  leave_waiters_.clear();
}

std::string Node::Impl::OnStream(const std::string& peer,
                                 std::string_view frame) {
  // Connections from outside the allowed networks were closed on accept.
  std::string reply = swim_->HandleStream(peer, frame);
  AfterInput();
  return reply;
}

absl::Status Node::Impl::OnMessage(std::string_view from,
                                   std::string_view payload) {
  if (payload.size() > config_.max_message_bytes)
    return absl::InvalidArgumentError("message too large");
  if (!config_.on_message)
    return absl::FailedPreconditionError("this member has no message handler");
  ++net_counters_.messages_received;
  config_.on_message(from, payload);
  return absl::OkStatus();
}

void Node::Impl::OnSyncDone(const std::string& to,
                            absl::StatusOr<std::string> response) {
  if (closing_) return;  // the Join calls were cancelled
  if (response.ok()) {
    swim_->HandleSyncResponse(to, *response);
  } else {
    swim_->HandleSyncFailed(to, response.status());
  }
  AfterInput();
}

void Node::Impl::OnSeedResolved(
    const std::string& seed,
    const absl::StatusOr<std::vector<std::string>>& addrs) {
  if (closing_) return;
  swim_->HandleSeedResolved(seed, addrs);
  AfterInput();
}

// ---------------------------------------------------------------- join

void Node::Impl::JoinAsync(const std::vector<std::string>& seeds,
                           std::function<void(absl::Status)> done) {
  const uint64_t token = next_join_token_++;
  joins_[token] = std::move(done);
  swim_->Join(seeds, token);
  AfterInput();
}

void Node::Impl::OnJoinDone(const JoinResult& result) {
  auto it = joins_.find(result.token);
  if (result.status.ok() && !result.failed.empty())
    Log(LogLevel::kWarning, absl::StrCat("joined, but these seeds failed: ",
                                         absl::StrJoin(result.failed, "; ")));
  if (absl::IsAlreadyExists(result.status))
    Log(LogLevel::kError,
        absl::StrCat("join refused: ", result.status.message()));
  if (it == joins_.end()) return;
  auto done = std::move(it->second);
  joins_.erase(it);
  done(result.status);
}

// ---------------------------------------------------------------- leave

void Node::Impl::StartLeave(std::shared_ptr<Waiter> waiter) {
  swim_->Leave();
  if (swim_->LeaveComplete()) {
    waiter->Set(absl::OkStatus());
    return;
  }
  leave_waiters_.push_back(std::move(waiter));
}

// ---------------------------------------------------------------- send

void Node::Impl::SendToAsync(std::string name, std::string payload,
                             std::function<void(absl::Status)> done) {
  if (payload.size() > config_.max_message_bytes) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "a message of ", payload.size(), " bytes is over the limit of ",
        config_.max_message_bytes, " (NodeConfig::max_message_bytes)")));
    return;
  }
  auto member = swim_->Lookup(name);
  if (!member) {
    done(absl::NotFoundError(absl::StrCat("no member named '", name, "'")));
    return;
  }
  if (member->state == MemberState::kDead ||
      member->state == MemberState::kLeft) {
    done(absl::UnavailableError(absl::StrCat(
        "member '", name, "' has ", MemberStateName(member->state).data())));
    return;
  }
  runtime_->Exchange(
      member->addr, swim_->MessageRequest(payload),
      [this, name, addr = member->addr,
       done = std::move(done)](absl::StatusOr<std::string> reply) {
        absl::Status status = reply.status();
        if (reply.ok()) {
          status = closing_ ? absl::CancelledError("the node shut down")
                            : swim_->ReadReply(*reply);
        }
        if (status.ok()) {
          ++net_counters_.messages_sent;
          done(absl::OkStatus());
          return;
        }
        std::string why = absl::StrCat("sending to '", name, "' at ", addr,
                                       ": ", status.message());
        if (absl::IsFailedPrecondition(status)) {
          done(absl::FailedPreconditionError(why));
        } else {
          done(absl::UnavailableError(why));
        }
      });
}

// ---------------------------------------------------------------- Node

absl::StatusOr<std::unique_ptr<Node>> Node::Start(NodeConfig config) {
  const bool own_loop = config.loop == nullptr;
  auto impl = std::make_shared<Impl>(std::move(config));
  absl::Status status = impl->Open();
  if (!status.ok()) {
    if (impl->handles_ready()) {
      impl->Shutdown();  // on this thread, which is still the loop's
      // Nothing runs our own loop yet: run it until the handles closed.
      if (own_loop) impl->RunUntilClosed();
    }
    return status;
  }
  if (own_loop) impl->RunThread();
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { Shutdown(); }

void Node::Shutdown() { impl_->Shutdown(); }

absl::Status Node::Join(const std::vector<std::string>& seeds) {
  if (impl_->OnLoopThread())
    return absl::FailedPreconditionError(
        "Join blocks: call it from another thread than the loop's, or use "
        "JoinAsync");
  auto waiter = std::make_shared<Waiter>();
  JoinAsync(seeds, [waiter](absl::Status s) { waiter->Set(std::move(s)); });
  return waiter->Wait();
}

void Node::JoinAsync(const std::vector<std::string>& seeds,
                     std::function<void(absl::Status)> done) {
  // Checked here, so that a seed that does not parse fails the call at
  // once; addresses go to the core in their normal form, names as given.
  std::vector<std::string> specs;
  for (const std::string& s : seeds) {
    auto spec = net::ParseSeed(s);
    if (!spec.ok()) {
      done(spec.status());
      return;
    }
    specs.push_back(spec->kind == net::SeedSpec::Kind::kAddress ? spec->host
                                                                : spec->text);
  }
  auto shared_done =
      std::make_shared<std::function<void(absl::Status)>>(std::move(done));
  Impl* impl = impl_.get();
  bool posted = impl->Post([impl, specs = std::move(specs), shared_done] {
    impl->JoinAsync(
        specs, [shared_done](absl::Status s) { (*shared_done)(std::move(s)); });
  });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

absl::Status Node::Leave(absl::Duration timeout) {
  if (impl_->OnLoopThread())
    return absl::FailedPreconditionError(
        "Leave blocks: call it from another thread than the loop's");
  auto waiter = std::make_shared<Waiter>();
  Impl* impl = impl_.get();
  if (!impl->Post([impl, waiter] { impl->StartLeave(waiter); }))
    return absl::CancelledError("the node has shut down");
  auto status = waiter->WaitFor(timeout);
  if (!status)
    return absl::DeadlineExceededError(
        absl::StrCat("the leave was not fully gossiped within ",
                     absl::FormatDuration(timeout)));
  return *status;
}

std::vector<MemberInfo> Node::Members() const {
  return impl_->Call([this] { return impl_->swim().Members(); })
      .value_or(std::vector<MemberInfo>{});
}

std::optional<MemberInfo> Node::Lookup(std::string_view name) const {
  auto r = impl_->Call([this, name] { return impl_->swim().Lookup(name); });
  return r ? *r : std::nullopt;
}

MemberInfo Node::Self() const {
  return impl_->Call([this] { return impl_->swim().Self(); })
      .value_or(MemberInfo{});
}

size_t Node::NumAlive() const {
  return impl_->Call([this] { return impl_->swim().NumAlive(); }).value_or(0);
}

int Node::HealthScore() const {
  return impl_->Call([this] { return impl_->swim().HealthScore(); })
      .value_or(0);
}

absl::Status Node::SetMeta(std::string meta) {
  return impl_
      ->Call([this, &meta] { return impl_->swim().SetMeta(std::move(meta)); })
      .value_or(absl::CancelledError("the node has shut down"));
}

absl::Status Node::SetKeyring(std::shared_ptr<Keyring> keyring) {
  return impl_
      ->Call([this, &keyring] {
        impl_->SetKeyring(std::move(keyring));
        return absl::OkStatus();
      })
      .value_or(absl::CancelledError("the node has shut down"));
}

absl::Status Node::Broadcast(std::string payload) {
  return impl_
      ->Call([this, &payload] {
        return impl_->swim().Broadcast(std::move(payload));
      })
      .value_or(absl::CancelledError("the node has shut down"));
}

absl::Status Node::SendTo(std::string_view name, std::string payload) {
  if (impl_->OnLoopThread())
    return absl::FailedPreconditionError(
        "SendTo blocks: call it from another thread than the loop's, or use "
        "SendToAsync");
  auto waiter = std::make_shared<Waiter>();
  SendToAsync(name, std::move(payload),
              [waiter](absl::Status s) { waiter->Set(std::move(s)); });
  return waiter->Wait();
}

void Node::SendToAsync(std::string_view name, std::string payload,
                       std::function<void(absl::Status)> done) {
  auto shared_done =
      std::make_shared<std::function<void(absl::Status)>>(std::move(done));
  Impl* impl = impl_.get();
  bool posted =
      impl->Post([impl, name = std::string(name), payload = std::move(payload),
                  shared_done]() mutable {
        impl->SendToAsync(
            std::move(name), std::move(payload),
            [shared_done](absl::Status s) { (*shared_done)(std::move(s)); });
      });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

NodeCounters Node::counters() const {
  return impl_
      ->Call([this] {
        return NodeCounters{impl_->swim().counters(), impl_->net_counters()};
      })
      .value_or(NodeCounters{});
}

const std::string& Node::name() const { return impl_->name(); }
const std::string& Node::addr() const { return impl_->addr(); }

// ---------------------------------------------------------------- query

absl::Status ValidateSeed(std::string_view seed) {
  return net::ParseSeed(seed).status();
}

absl::StatusOr<std::vector<MemberInfo>> QueryMembers(const std::string& addr,
                                                     const std::string& label,
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
    return absl::Status(s.code(), absl::StrCat(addr, ": ", s.message()));
  };
  if (!frame.ok()) return fail(frame.status());
  Limits limits;
  limits.max_members = 10'000'000;
  auto members = ReadMembersReply(*frame, label, keyring, absl::Now(), limits);
  if (!members.ok()) return fail(members.status());
  return members;
}

// ---------------------------------------------------------------- tags

absl::StatusOr<std::string> EncodeTags(
    const std::map<std::string, std::string>& tags) {
  std::string out;
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.find_first_of("=\n") != std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          "tag key '", key, "' is empty or holds '=' or a newline"));
    if (value.find('\n') != std::string::npos)
      return absl::InvalidArgumentError(
          absl::StrCat("tag '", key, "' has a newline in its value"));
    if (!out.empty()) out.push_back('\n');
    absl::StrAppend(&out, key, "=", value);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> DecodeTags(
    std::string_view meta) {
  std::map<std::string, std::string> tags;
  if (meta.empty()) return tags;
  for (absl::string_view line : absl::StrSplit(Absl(meta), '\n')) {
    size_t eq = line.find('=');
    if (eq == 0 || eq == absl::string_view::npos) return std::nullopt;
    tags[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return tags;
}

}  // namespace roster
