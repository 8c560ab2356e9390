// roster::Node's face: every public method is callable from any thread.
// Reads answer from the snapshot the loop thread last published; every
// other call hands its work to the loop thread (Node::Impl, node_impl.h)
// and, when it has an answer to give, waits for it. NodeConfig's profiles
// are here too.
#include "roster/node.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/loop_thread.h"
#include "net/node_impl.h"
#include "net/seeds.h"
#include "net/snapshot.h"
#include "util/string_view.h"

namespace roster {

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
      c.connection_idle_timeout = absl::Seconds(30);
      break;
    case Profile::kLocal:
      c.connect_timeout = absl::Seconds(1);
      c.idle_timeout = absl::Seconds(1);
      c.stream_timeout = absl::Seconds(2);
      c.connection_idle_timeout = absl::Seconds(3);
      break;
  }
  return c;
}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(NodeConfig config) {
  const bool own_loop = config.loop == nullptr;
  auto impl = std::make_shared<Impl>(std::move(config));
  absl::Status status = impl->Open();
  if (!status.ok()) {
    if (impl->handles_ready()) {
      impl->Shutdown();  // on this thread, which is still the loop's
      // Nothing runs our own loop yet: run it until the handles closed.
      if (own_loop) impl->loop().RunUntilClosed();
    }
    return status;
  }
  if (own_loop) impl->loop().StartThread();
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { Shutdown(); }

void Node::Shutdown() { impl_->Shutdown(); }

absl::Status Node::Join(const std::vector<std::string>& seeds) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "Join blocks: call it from another thread than the loop's, or use "
        "JoinAsync");
  auto waiter = std::make_shared<net::Waiter>();
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
  bool posted =
      impl->loop().Post([impl, specs = std::move(specs), shared_done] {
        impl->JoinAsync(specs, [shared_done](absl::Status s) {
          (*shared_done)(std::move(s));
        });
      });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

absl::Status ValidateSeed(std::string_view seed) {
  return net::ParseSeed(seed).status();
}

absl::Status Node::Leave(absl::Duration timeout) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "Leave blocks: call it from another thread than the loop's");
  auto waiter = std::make_shared<net::Waiter>();
  Impl* impl = impl_.get();
  if (!impl->loop().Post([impl, waiter] { impl->StartLeave(waiter); }))
    return absl::CancelledError("the node has shut down");
  auto status = waiter->WaitFor(timeout);
  if (!status)
    return absl::DeadlineExceededError(
        absl::StrCat("the leave was not fully gossiped within ",
                     absl::FormatDuration(timeout)));
  return *status;
}

absl::Status Node::ForceLeave(std::string_view name, bool prune) {
  return impl_->loop()
      .Call([this, name, prune] { return impl_->ForceLeave(name, prune); })
      .value_or(absl::CancelledError("the node has shut down"));
}

std::vector<MemberInfo> Node::Members(MemberFilter filter) const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  if (snapshot == nullptr) return {};
  if (filter == MemberFilter::kAll) return snapshot->All();
  return snapshot->Live();
}

std::optional<MemberInfo> Node::Lookup(std::string_view name) const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  if (snapshot == nullptr) return std::nullopt;
  return snapshot->Find(name);
}

MemberInfo Node::Self() const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  return snapshot == nullptr ? MemberInfo{} : snapshot->self;
}

absl::StatusOr<absl::Duration> Node::EstimateRtt(std::string_view a,
                                                 std::string_view b) const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  if (snapshot == nullptr)
    return absl::FailedPreconditionError("the node is shut down");
  auto coordinate_of =
      [&](std::string_view name) -> absl::StatusOr<Coordinate> {
    std::optional<MemberInfo> member = snapshot->Find(name);
    if (!member)
      return absl::NotFoundError(
          absl::StrCat("no member named ", util::ToAbsl(name)));
    if (!member->coordinate)
      return absl::NotFoundError(absl::StrCat("no network coordinate for ",
                                              util::ToAbsl(name), " yet"));
    return *member->coordinate;
  };
  absl::StatusOr<Coordinate> ca = coordinate_of(a);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<Coordinate> cb = coordinate_of(b);
  if (!cb.ok()) return cb.status();
  return roster::EstimateRtt(*ca, *cb);
}

size_t Node::NumAlive() const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  return snapshot == nullptr ? 0 : snapshot->num_alive;
}

int Node::HealthScore() const {
  std::shared_ptr<const net::Snapshot> snapshot = impl_->snapshot();
  return snapshot == nullptr ? 0 : snapshot->health;
}

NodeCounters Node::counters() const { return impl_->counters(); }

absl::Status Node::SetMeta(std::string meta) {
  return impl_->loop()
      .Call([this, &meta] { return impl_->SetMeta(std::move(meta)); })
      .value_or(absl::CancelledError("the node has shut down"));
}

absl::Status Node::SetKeyring(std::shared_ptr<Keyring> keyring) {
  return impl_->loop()
      .Call([this, &keyring] {
        impl_->SetKeyring(std::move(keyring));
        return absl::OkStatus();
      })
      .value_or(absl::CancelledError("the node has shut down"));
}

absl::Status Node::Broadcast(std::string payload) {
  return impl_->loop()
      .Call([this, &payload] { return impl_->Broadcast(std::move(payload)); })
      .value_or(absl::CancelledError("the node has shut down"));
}

const std::string& Node::name() const { return impl_->name(); }
const std::string& Node::addr() const { return impl_->addr(); }

}  // namespace roster
