// ConnectionPool (connection_pool.h): each pooled connection's states, the
// calls waiting for one, and the deadlines of both.
#include "net/connection_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/stream.h"
#include "net/streams.h"

namespace roster::net {

struct ConnectionPool::Pending {
  std::string request;
  absl::Duration timeout;
  uint64_t deadline_ms = 0;
  Done done;
  bool retried = false;  // sent again after a reused connection closed
  absl::Status refusal;  // refused_: failed on the sweep's next turn

  void Fail(absl::Status status) {
    Done d = std::move(done);
    done = nullptr;
    if (d) d(std::move(status));
  }
};

struct ConnectionPool::Peer {
  std::string name;
  sockaddr_storage addr;
  std::vector<Conn*> conns;
  std::deque<std::unique_ptr<Pending>> waiting;
  bool forgotten = false;  // ClosePeer: no new connection is kept idle
};

struct ConnectionPool::Conn {
  enum class State { kConnecting, kBusy, kIdle, kClosing };

  ConnectionPool* pool;
  std::string peer;  // key of peers_
  State state = State::kConnecting;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  CloseGroup closer;  // tcp and timer
  FrameReader reader;
  std::unique_ptr<Pending> call;
  uint64_t calls = 0;          // sent on this connection
  bool reply_started = false;  // a byte of the current call's reply came
  int broken = 0;              // FailSoon's error

  Conn(ConnectionPool* p, std::string peer_name)
      : pool(p),
        peer(std::move(peer_name)),
        reader(p->options_.max_frame_bytes) {
    uv_tcp_init(p->loop_, &tcp);
    uv_timer_init(p->loop_, &timer);
    tcp.data = this;
    timer.data = this;
    closer.Add(2);
    p->closer_.Add();  // until the handles have closed
  }

  Peer* owner() {
    auto it = pool->peers_.find(peer);
    return it == pool->peers_.end() ? nullptr : it->second.get();
  }

  void ArmAt(uint64_t due_ms) {
    const uint64_t now = pool->now_ms();
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->OnTimer(); },
        due_ms > now ? due_ms - now : 0, 0);
  }

  // Closes the connection; a call still on it gets `status` (when it has
  // not been sent again elsewhere).
  void Close(absl::Status status) {
    if (state == State::kClosing) return;
    state = State::kClosing;
    ++pool->counters_->message_connections_closed;
    std::unique_ptr<Pending> failed = std::move(call);
    Peer* p = owner();
    pool->Detach(this);
    closer.Close(
        [this] {
          CloseHandle<&Conn::closer>(&tcp);
          CloseHandle<&Conn::closer>(&timer);
        },
        [this] { pool->Forget(this); });
    if (p != nullptr) pool->Dispatch(p);  // a slot is free
    if (failed) failed->Fail(std::move(status));
  }

  // The call goes out on a connection that is open.
  void Send(std::unique_ptr<Pending> next) {
    call = std::move(next);
    state = State::kBusy;
    reply_started = false;
    if (calls++ > 0) ++pool->counters_->message_connections_reused;
    ArmAt(call->deadline_ms);
    pool->counters_->stream_bytes_sent += call->request.size();
    // A copy: the call keeps its request for a retry.
    int r = WriteOwned(reinterpret_cast<uv_stream_t*>(&tcp), call->request,
                       [](uv_stream_t* s, int status) {
                         if (status < 0 && status != UV_ECANCELED)
                           static_cast<Conn*>(s->data)->OnBroken(status);
                       });
    if (r < 0) FailSoon(r);
  }

  // A failure found while the pool dispatches, reported on the timer's
  // next turn instead, so that no close runs inside Dispatch().
  void FailSoon(int code) {
    broken = code;
    ArmAt(pool->now_ms());
  }

  // The connection broke under the current call (or while idle).
  void OnBroken(int code) {
    if (state == State::kClosing) return;
    const bool before_reply = state == State::kBusy && !reply_started;
    if (before_reply && calls > 1 && !call->retried) {
      // The peer closed a connection we had used before: most likely idle
      // on its side, so the call never reached it. Once more, afresh.
      std::unique_ptr<Pending> again = std::move(call);
      again->retried = true;
      ++pool->counters_->message_retries;
      // Queued first: the close gives it the slot it frees.
      if (Peer* p = owner(); p != nullptr)
        p->waiting.push_front(std::move(again));
      Close(absl::OkStatus());
      if (again) again->Fail(absl::UnavailableError("the connection closed"));
      return;
    }
    Close(absl::UnavailableError(
        code == UV_EOF
            ? std::string("the peer closed the connection without a complete "
                          "reply")
            : UvError(code)));
  }

  void OnConnected(int status) {
    if (state == State::kClosing) return;
    if (status < 0) {
      Close(absl::UnavailableError(UvError(status)));
      return;
    }
    uv_tcp_nodelay(&tcp, 1);
    int r = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* c = static_cast<Conn*>(h->data);
          *buf = uv_buf_init(c->pool->scratch_, sizeof(c->pool->scratch_));
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          static_cast<Conn*>(s->data)->OnRead(n, buf);
        });
    if (r < 0) {
      Close(absl::UnavailableError(UvError(r)));
      return;
    }
    std::unique_ptr<Pending> first = std::move(call);
    Send(std::move(first));
  }

  void OnRead(ssize_t n, const uv_buf_t* buf) {
    if (state == State::kClosing || n == 0) return;
    if (n < 0) {
      OnBroken(static_cast<int>(n));
      return;
    }
    if (state != State::kBusy) {
      Close(absl::OkStatus());  // bytes nobody asked for: not to be trusted
      return;
    }
    pool->counters_->stream_bytes_received += static_cast<uint64_t>(n);
    reply_started = true;
    if (!reader.Append(std::string_view(buf->base, static_cast<size_t>(n)))) {
      // Whatever the handler did, its answer cannot be read.
      Close(absl::DataLossError(absl::StrCat(
          "its reply declared ", reader.declared(),
          " bytes, over the limit of ", pool->options_.max_frame_bytes)));
      return;
    }
    if (!reader.complete()) return;
    const bool excess = reader.has_excess();
    std::string reply = reader.TakeFrame();
    reader = FrameReader(pool->options_.max_frame_bytes);
    std::unique_ptr<Pending> done = std::move(call);
    if (excess) {
      Close(absl::OkStatus());
    } else {
      state = State::kIdle;
      ArmAt(pool->now_ms() +
            static_cast<uint64_t>(std::max<int64_t>(
                0, absl::ToInt64Milliseconds(pool->options_.idle_timeout))));
      if (Peer* p = owner(); p != nullptr) {
        if (p->forgotten) {
          Close(absl::OkStatus());
        } else {
          pool->Dispatch(p);
        }
      }
    }
    Done d = std::move(done->done);
    d(std::move(reply));
  }

  void OnTimer() {
    if (state == State::kClosing) return;
    if (broken != 0) {
      if (state == State::kConnecting) {
        Close(absl::UnavailableError(UvError(broken)));
      } else {
        OnBroken(broken);
      }
      return;
    }
    if (state == State::kIdle) {
      ++pool->counters_->message_connections_idle_closed;
      Close(absl::OkStatus());
      return;
    }
    const uint64_t now = pool->now_ms();
    if (state == State::kConnecting && now < call->deadline_ms) {
      Close(absl::UnavailableError(
          absl::StrCat("timed out connecting after ",
                       absl::FormatDuration(pool->options_.connect_timeout))));
      return;
    }
    ++pool->counters_->message_timeouts;
    Close(absl::DeadlineExceededError(absl::StrCat(
        "no answer within ", absl::FormatDuration(call->timeout))));
  }
};

ConnectionPool::ConnectionPool(uv_loop_t* loop, PoolOptions options,
                               NetCounters* counters)
    : loop_(loop), options_(options), counters_(counters) {
  uv_timer_init(loop_, &sweep_);
  sweep_.data = this;
  closer_.Add();
}

ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::Call(const sockaddr_storage& to, const std::string& peer,
                          std::string request, absl::Duration timeout,
                          Done done) {
  auto call = std::make_unique<Pending>();
  call->request = std::move(request);
  call->timeout = timeout;
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout));
  call->deadline_ms = now_ms() + static_cast<uint64_t>(ms);
  call->done = std::move(done);
  if (closer_.closing()) {
    // The sweep's timer is closing too: this one fails at once.
    call->Fail(absl::CancelledError("the node is shutting down"));
    return;
  }
  auto& slot = peers_[peer];
  if (slot == nullptr) {
    slot = std::make_unique<Peer>();
    slot->name = peer;
  }
  Peer* p = slot.get();
  p->addr = to;
  p->forgotten = false;
  if (p->waiting.size() >= options_.max_waiting_per_peer) {
    call->refusal = absl::ResourceExhaustedError(
        absl::StrCat(options_.max_waiting_per_peer,
                     " calls already wait for a connection to ", peer));
    refused_.push_back(std::move(call));
  } else {
    p->waiting.push_back(std::move(call));
  }
  // Dispatched on the sweep's next turn, so that `done` never runs inside
  // Call() (a connection may fail at once).
  uv_timer_start(
      &sweep_,
      [](uv_timer_t* t) { static_cast<ConnectionPool*>(t->data)->Sweep(); }, 0,
      0);
}

void ConnectionPool::Dispatch(Peer* peer) {
  while (!peer->waiting.empty() && !closer_.closing()) {
    Conn* idle = nullptr;
    for (Conn* c : peer->conns) {
      if (c->state == Conn::State::kIdle) {
        idle = c;
        break;
      }
    }
    std::unique_ptr<Pending> next = std::move(peer->waiting.front());
    // A call sent again goes on a new connection: the other idle ones are
    // as likely as the broken one to be closed on the peer's side.
    if (idle != nullptr && !next->retried) {
      peer->waiting.pop_front();
      idle->Send(std::move(next));
      continue;
    }
    if (peer->conns.size() >= options_.max_per_peer) {
      peer->waiting.front() = std::move(next);
      break;
    }
    peer->waiting.pop_front();
    Open(peer, std::move(next));
  }
  MaybeErase(peer);
}

void ConnectionPool::Open(Peer* peer, std::unique_ptr<Pending> call) {
  auto* c = new Conn(this, peer->name);
  peer->conns.push_back(c);
  ++counters_->message_connections_opened;
  ++counters_->streams_opened;
  c->call = std::move(call);
  const uint64_t connect_due =
      now_ms() + static_cast<uint64_t>(std::max<int64_t>(
                     0, absl::ToInt64Milliseconds(options_.connect_timeout)));
  c->ArmAt(std::min(connect_due, c->call->deadline_ms));
  int r = uv_tcp_connect(
      &c->connect_req, &c->tcp, reinterpret_cast<const sockaddr*>(&peer->addr),
      [](uv_connect_t* req, int status) {
        static_cast<Conn*>(req->handle->data)->OnConnected(status);
      });
  if (r < 0) c->FailSoon(r);
}

void ConnectionPool::Detach(Conn* conn) {
  auto it = peers_.find(conn->peer);
  if (it == peers_.end()) return;
  auto& conns = it->second->conns;
  conns.erase(std::remove(conns.begin(), conns.end(), conn), conns.end());
}

void ConnectionPool::Forget(Conn* conn) {
  delete conn;
  closer_.Done();  // may run the close's callback: the last use of `this`
}

void ConnectionPool::MaybeErase(Peer* peer) {
  if (peer->conns.empty() && peer->waiting.empty()) peers_.erase(peer->name);
}

void ConnectionPool::ArmSweep() {
  uint64_t due = UINT64_MAX;
  for (auto& [name, peer] : peers_) {
    for (auto& call : peer->waiting) due = std::min(due, call->deadline_ms);
  }
  if (due == UINT64_MAX || closer_.closing()) return;
  const uint64_t now = now_ms();
  uv_timer_start(
      &sweep_,
      [](uv_timer_t* t) { static_cast<ConnectionPool*>(t->data)->Sweep(); },
      due > now ? due - now : 0, 0);
}

void ConnectionPool::Sweep() {
  const uint64_t now = now_ms();
  std::vector<std::unique_ptr<Pending>> expired = std::move(refused_);
  refused_.clear();
  std::vector<std::string> names;
  for (auto& [name, peer] : peers_) names.push_back(name);
  for (const std::string& name : names) {
    auto it = peers_.find(name);
    if (it == peers_.end()) continue;
    Peer* peer = it->second.get();
    auto& waiting = peer->waiting;
    for (auto w = waiting.begin(); w != waiting.end();) {
      if ((*w)->deadline_ms <= now) {
        expired.push_back(std::move(*w));
        w = waiting.erase(w);
      } else {
        ++w;
      }
    }
    Dispatch(peer);
  }
  ArmSweep();
  for (auto& call : expired) {
    if (!call->refusal.ok()) {
      call->Fail(call->refusal);
      continue;
    }
    ++counters_->message_timeouts;
    call->Fail(absl::DeadlineExceededError(
        absl::StrCat("no connection was free within ",
                     absl::FormatDuration(call->timeout))));
  }
}

void ConnectionPool::ClosePeer(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer* p = it->second.get();
  p->forgotten = true;
  std::vector<Conn*> idle;
  for (Conn* c : p->conns)
    if (c->state == Conn::State::kIdle) idle.push_back(c);
  for (Conn* c : idle) c->Close(absl::OkStatus());
}

void ConnectionPool::CloseAll(std::function<void()> closed) {
  closer_.Close(
      [this] {
        CloseHandle<&ConnectionPool::closer_>(&sweep_);
        std::vector<std::unique_ptr<Pending>> cancelled;
        std::vector<Conn*> conns;
        for (auto& [name, peer] : peers_) {
          for (auto& call : peer->waiting) cancelled.push_back(std::move(call));
          peer->waiting.clear();
          conns.insert(conns.end(), peer->conns.begin(), peer->conns.end());
        }
        for (auto& call : refused_) cancelled.push_back(std::move(call));
        refused_.clear();
        for (Conn* c : conns)
          c->Close(absl::CancelledError("the node shut down"));
        peers_.clear();
        for (auto& call : cancelled)
          call->Fail(absl::CancelledError("the node shut down"));
      },
      std::move(closed));
}

}  // namespace roster::net
