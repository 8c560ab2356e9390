// Node::Impl (node_impl.h): the assembly of a member, what the runtime
// hands on to the Swim, and the Join and Leave calls waiting on the Swim's
// answers.
#include "net/node_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/address.h"
#include "net/advertise.h"
#include "net/seeds.h"

namespace roster {

Node::Impl::Impl(NodeConfig config)
    : config_(std::move(config)),
      callbacks_(std::make_shared<const Callbacks>(Callbacks{
          std::move(config_.on_event), std::move(config_.on_broadcast),
          std::move(config_.merge_remote_state), std::move(config_.on_log),
          std::move(config_.on_user_event)})),
      delivery_(config_.max_pending_callbacks),
      message_handlers_(std::max<size_t>(1, config_.max_pending_messages)) {}

absl::Status Node::Impl::Open() {
  // The config first, before any socket.
  if (absl::Status s = net::ValidateBeforeBinding(config_.swim); !s.ok())
    return s;
  if (config_.max_pending_callbacks == 0)
    return absl::InvalidArgumentError(
        "max_pending_callbacks must be at least 1: with 0 every callback "
        "would be dropped");
  auto bind = net::ParseIpPort(config_.bind_addr);
  if (!bind.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("bind address: ", bind.status().message()));
  if (config_.message_connections == 0 || config_.max_pending_messages == 0)
    return absl::InvalidArgumentError(
        "NodeConfig::message_connections and max_pending_messages must be at "
        "least 1");
  if (!config_.dns_server.empty()) {
    if (absl::Status s = net::ValidateDnsServer(config_.dns_server); !s.ok())
      return s;
  }
  if (absl::Status s = loop_.Open(config_.loop,
                                  [this](std::function<void()> closed) {
                                    CloseHandles(std::move(closed));
                                  });
      !s.ok())
    return s;

  net::UvRuntime::Options options;
  options.bind = *bind;
  options.streams.connect_timeout = config_.connect_timeout;
  options.streams.idle_timeout = config_.idle_timeout;
  options.streams.stream_timeout = config_.stream_timeout;
  options.streams.max_inbound = config_.max_inbound_streams;
  options.streams.keep_alive = 2 * config_.connection_idle_timeout;
  options.pool.connect_timeout = config_.connect_timeout;
  options.pool.idle_timeout = config_.connection_idle_timeout;
  options.pool.max_per_peer = config_.message_connections;
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
  options.pool.max_frame_bytes = options.streams.max_frame_bytes;
  options.dns_server = config_.dns_server;
  // Settle() guards itself until swim_ is set. Unreferenced: it must not
  // keep a caller's loop running by itself.
  uv_check_init(loop_.loop(), &turn_end_);
  turn_end_.data = this;
  uv_check_start(&turn_end_,
                 [](uv_check_t* c) { static_cast<Impl*>(c->data)->Settle(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_end_));
  uv_timer_init(loop_.loop(), &settle_soon_);
  settle_soon_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&settle_soon_));
  closer_.Add(3);  // turn_end_, settle_soon_, and the runtime as one
  runtime_ = std::make_unique<net::UvRuntime>(loop_.loop(), std::move(options),
                                              this, &net_counters_);
  if (absl::Status s = runtime_->Start(); !s.ok()) return s;

  auto advertise =
      net::AdvertiseAddress(config_.swim.advertise_addr, runtime_->bound());
  if (!advertise.ok()) return advertise.status();
  config_.swim.advertise_addr = *std::move(advertise);
  std::optional<net::SnapshotFileContents> restored = RestoreSnapshotFile();
  auto swim = Swim::Create(config_.swim, runtime_.get(), this);
  if (!swim.ok()) return swim.status();
  swim_ = std::move(*swim);
  swim_->Start();
  StartSnapshotFile(std::move(restored));
  Settle();  // the first snapshot, before Start() returns
  return absl::OkStatus();
}

void Node::Impl::Shutdown() {
  snapshots_.Close();
  handlers_stopped_ = true;
  loop_.Shutdown(shared_from_this());
  // What the last turn published is written before this returns.
  if (snapshot_file_ != nullptr) snapshot_file_->Stop();
  // Not joined on the loop thread (a callback or handler may wait on the
  // loop), nor on one callback thread: the other's callback may be
  // shutting the node down too, and waiting for this one.
  if (loop_.OnLoopThread() || delivery_.OnDeliveryThread() ||
      message_handlers_.OnDeliveryThread()) {
    delivery_.Cancel();
    message_handlers_.Cancel();
  } else {
    delivery_.Stop();
    message_handlers_.Stop();
  }
}

void Node::Impl::CloseHandles(std::function<void()> closed) {
  turn_calls_.clear();  // the node is going: nobody is told any more
  for (auto& w : leave_waiters_) w->Set(absl::CancelledError("shut down"));
  leave_waiters_.clear();
  // Calls already answered keep their answer.
  AnswerFinishedCalls();
  auto joins = std::move(joins_);
  joins_.clear();
  for (auto& [token, done] : joins)
    done(absl::CancelledError("the node shut down"));
  auto queries = std::move(queries_);
  queries_.clear();
  for (auto& [token, handlers] : queries)
    handlers->on_done(absl::CancelledError("the node shut down"));
  closer_.Close(
      [this] {
        net::CloseHandle<&Impl::closer_>(&turn_end_);
        net::CloseHandle<&Impl::closer_>(&settle_soon_);
        runtime_->Close([this] { closer_.Done(); });
      },
      std::move(closed));
}

// ---------------------------------------------------------------- inputs
// Each is settled at the end of the loop's turn (turn_end_).

void Node::Impl::OnPacket(std::string_view from, std::string_view bytes) {
  swim_->HandlePacket(from, bytes);
}

void Node::Impl::OnTimer(const Timer& timer) { swim_->HandleTimer(timer); }

void Node::Impl::OnStream(const std::string& peer, std::string_view frame,
                          StreamReply reply) {
  // Connections from outside the allowed networks were closed on accept.
  swim_->HandleStream(peer, frame, std::move(reply));
}

void Node::Impl::OnSyncDone(const std::string& to,
                            absl::StatusOr<std::string> response) {
  if (loop_.closing()) return;  // the Join calls were cancelled
  if (response.ok()) {
    swim_->HandleSyncResponse(to, *response);
  } else {
    swim_->HandleSyncFailed(to, response.status());
  }
  SettleSoon();
}

void Node::Impl::SettleSoon() {
  // An exchange ends as its connection closes, in the loop's close phase,
  // after this turn's check (Settle) has run; unsettled, what it answered
  // would wait for whatever wakes the loop next.
  uv_timer_start(
      &settle_soon_,
      [](uv_timer_t* t) { static_cast<Impl*>(t->data)->Settle(); }, 0, 0);
}

void Node::Impl::OnSeedResolved(
    const std::string& seed,
    const absl::StatusOr<std::vector<std::string>>& addrs) {
  if (loop_.closing()) return;
  swim_->HandleSeedResolved(seed, addrs);
}

// ---------------------------------------------------------------- join

void Node::Impl::JoinAsync(const std::vector<std::string>& seeds,
                           std::function<void(absl::Status)> done) {
  // A task queued behind a Shutdown in the same batch: the joins were
  // cancelled already, and this one would never be settled.
  if (loop_.closing()) {
    done(absl::CancelledError("the node shut down"));
    return;
  }
  const uint64_t token = next_join_token_++;
  joins_[token] = std::move(done);
  swim_->Join(seeds, token);
  Settle();
}

void Node::Impl::OnJoinDone(const JoinResult& result) {
  if (result.status.ok() && !result.failed.empty())
    Log(LogLevel::kWarning, absl::StrCat("joined, but these seeds failed: ",
                                         absl::StrJoin(result.failed, "; ")));
  if (absl::IsAlreadyExists(result.status))
    Log(LogLevel::kError,
        absl::StrCat("join refused: ", result.status.message()));
  // Answered once the turn's snapshot shows what the join brought.
  if (auto it = joins_.find(result.token); it != joins_.end()) {
    joins_done_.emplace_back(std::move(it->second), result.status);
    joins_.erase(it);
  }
}

// ---------------------------------------------------------------- leave

void Node::Impl::StartLeave(std::shared_ptr<net::Waiter> waiter) {
  if (loop_.closing()) {
    waiter->Set(absl::CancelledError("shut down"));
    return;
  }
  swim_->Leave();
  leave_waiters_.push_back(std::move(waiter));
  Settle();  // answers it at once when nobody is left to tell
}

// ---------------------------------------------------------------- updates

absl::Status Node::Impl::SetMeta(std::string meta) {
  absl::Status status = swim_->SetMeta(std::move(meta));
  Settle();
  return status;
}

absl::Status Node::Impl::Broadcast(std::string payload) {
  absl::Status status = swim_->Broadcast(std::move(payload));
  Settle();
  return status;
}

}  // namespace roster
