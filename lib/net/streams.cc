// TCP connections (streams.h): an outbound exchange's request and reply, an
// inbound connection's requests in turn, each connection's phases,
// timeouts and byte limits, and the bookkeeping that lets Streams close
// them all.
#include "net/streams.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "net/stream.h"

namespace roster::net {

std::string UvError(int code) { return uv_strerror(code); }

int WriteOwned(uv_stream_t* stream, std::string bytes,
               void (*written)(uv_stream_t*, int)) {
  struct Write {
    uv_write_t req;
    std::string bytes;
    void (*written)(uv_stream_t*, int);
  };
  auto* w = new Write{{}, std::move(bytes), written};
  uv_buf_t buf =
      uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int r = uv_write(&w->req, stream, &buf, 1, [](uv_write_t* req, int status) {
    auto* done = reinterpret_cast<Write*>(req);
    uv_stream_t* handle = req->handle;
    auto* cb = done->written;
    delete done;
    cb(handle, status);
  });
  if (r < 0) delete w;
  return r;
}

namespace {

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

struct Streams::Conn {
  // Inbound: kExchanging while a request is read, kHandling until the
  // handler answers, kReplying while the reply is written, then kWaiting
  // for the next request.
  enum class Phase {
    kConnecting,
    kExchanging,
    kHandling,
    kReplying,
    kWaiting,
    kClosing
  };

  Streams* owner;
  bool inbound;
  uint64_t id = 0;
  uint64_t requests = 0;  // inbound: requests read so far
  // Inbound: close once the reply is written, because the handler said
  // the connection is done or the peer broke the one-at-a-time rule.
  bool close_after_reply = false;
  Phase phase = Phase::kExchanging;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  std::string peer;
  std::string out;        // outbound: the request, until connected
  FrameReader reader;     // what has been read
  std::string reply;      // outbound: the reply frame
  uint64_t reserved = 0;  // of Streams::inbound_bytes_
  uint64_t started_ms = 0;
  CloseGroup closer;  // tcp and timer
  absl::Status result;
  Done done;

  Conn(Streams* s, bool in_bound)
      : owner(s), inbound(in_bound), reader(s->options_.max_frame_bytes) {
    uv_tcp_init(s->loop_, &tcp);
    uv_timer_init(s->loop_, &timer);
    tcp.data = this;
    timer.data = this;
    closer.Add(2);
    started_ms = uv_now(s->loop_);
    s->conns_.insert(this);
    s->closer_.Add();  // until Finish()
  }

  void Close(absl::Status status) {
    if (phase == Phase::kClosing) return;
    phase = Phase::kClosing;
    result = std::move(status);
    if (!inbound && !result.ok()) ++owner->counters_->streams_failed;
    closer.Close(
        [this] {
          CloseHandle<&Conn::closer>(&tcp);
          CloseHandle<&Conn::closer>(&timer);
        },
        [this] { Finish(); });
  }

  void Finish() {
    Streams* s = owner;
    if (inbound && holds_slot) --s->inbound_;
    if (inbound) s->inbound_by_id_.erase(id);
    ReleaseReserved();
    if (done) {
      Done d = std::move(done);
      if (result.ok()) {
        d(std::move(reply));
      } else {
        d(result);
      }
    }
    s->Forget(this);
    delete this;
  }

  void ReleaseReserved() {
    owner->inbound_bytes_ -= reserved;
    reserved = 0;
  }

  // Restarts the timer: the connect timeout while connecting, afterwards
  // the idle timeout, both capped by what is left of the stream timeout;
  // between requests the keep-alive; none while the handler works.
  void Arm() {
    const StreamOptions& o = owner->options_;
    if (phase == Phase::kHandling) {
      uv_timer_stop(&timer);
      return;
    }
    if (phase == Phase::kWaiting) {
      uv_timer_start(
          &timer,
          [](uv_timer_t* t) { static_cast<Conn*>(t->data)->OnTimeout(); },
          static_cast<uint64_t>(
              std::max<int64_t>(0, absl::ToInt64Milliseconds(o.keep_alive))),
          0);
      return;
    }
    uint64_t now = uv_now(owner->loop_);
    int64_t total_left = absl::ToInt64Milliseconds(o.stream_timeout) -
                         static_cast<int64_t>(now - started_ms);
    int64_t step = absl::ToInt64Milliseconds(
        phase == Phase::kConnecting ? o.connect_timeout : o.idle_timeout);
    int64_t wait = std::max<int64_t>(0, std::min(step, total_left));
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->OnTimeout(); },
        static_cast<uint64_t>(wait), 0);
  }

  void OnTimeout() {
    const StreamOptions& o = owner->options_;
    if (phase == Phase::kWaiting) {
      ++owner->counters_->streams_idle_closed;
      Close(absl::OkStatus());
      return;
    }
    ++owner->counters_->streams_timed_out;
    uint64_t elapsed = uv_now(owner->loop_) - started_ms;
    if (phase == Phase::kConnecting) {
      Close(absl::DeadlineExceededError(absl::StrCat(
          "timed out connecting after ",
          Seconds(std::min(o.connect_timeout, o.stream_timeout)))));
    } else if (elapsed >= static_cast<uint64_t>(
                              absl::ToInt64Milliseconds(o.stream_timeout))) {
      Close(absl::DeadlineExceededError(absl::StrCat(
          "the exchange took longer than ", Seconds(o.stream_timeout))));
    } else {
      Close(absl::DeadlineExceededError(
          absl::StrCat("the peer sent nothing for ", Seconds(o.idle_timeout))));
    }
  }

  void StartReading() {
    int r = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* c = static_cast<Conn*>(h->data);
          *buf = uv_buf_init(c->owner->scratch_, sizeof(c->owner->scratch_));
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          static_cast<Conn*>(s->data)->OnRead(n, buf);
        });
    if (r < 0) Close(absl::UnavailableError(UvError(r)));
  }

  void OnRead(ssize_t n, const uv_buf_t* buf) {
    if (phase == Phase::kClosing || n == 0) return;
    NetCounters& counters = *owner->counters_;
    if (inbound && phase != Phase::kExchanging && !StartNextRequest(n)) return;
    if (n < 0) {
      if (inbound) ++counters.streams_malformed;
      Close(absl::UnavailableError(
          n == UV_EOF ? std::string(inbound ? "the peer closed the connection "
                                              "before its request was complete"
                                            : "the peer closed the connection "
                                              "without a complete reply")
                      : UvError(static_cast<int>(n))));
      return;
    }
    counters.stream_bytes_received += static_cast<uint64_t>(n);
    const bool had_length = reader.has_length();
    const bool good =
        reader.Append(std::string_view(buf->base, static_cast<size_t>(n)));
    Arm();
    if (!good) {
      const uint64_t need = reader.declared();
      if (inbound) {
        ++(need == 0 ? counters.streams_malformed : counters.streams_too_large);
      }
      Close(absl::ResourceExhaustedError(absl::StrCat(
          "a message declared ", need, " bytes, over the limit of ",
          owner->options_.max_frame_bytes)));
      return;
    }
    if (!reader.has_length()) return;
    if (!had_length && inbound) {
      // All inbound requests together hold at most max_inbound_bytes,
      // so many connections each promising the maximum cannot add up
      // to more memory than that.
      const uint64_t need = reader.declared();
      if (owner->inbound_bytes_ + need > owner->options_.max_inbound_bytes) {
        ++counters.streams_refused;
        Close(absl::ResourceExhaustedError("too many bytes in flight"));
        return;
      }
      owner->inbound_bytes_ += need;
      reserved = need;
    }
    if (!reader.complete()) return;
    if (!inbound) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
      reply = reader.TakeFrame();
      Close(absl::OkStatus());
      return;
    }
    if (reader.has_excess()) BreaksOneAtATime();
    std::string in = reader.TakeFrame();
    reader = FrameReader(owner->options_.max_frame_bytes);
    if (requests++ > 0) ++counters.streams_reused;
    phase = Phase::kHandling;
    Arm();
    // Reading goes on while the handler works, to see a peer that gives up.
    owner->handler_(peer, in,
                    [s = owner, id = id, request = requests](std::string r,
                                                             bool keep_open) {
                      s->OnAnswer(id, request, std::move(r), keep_open);
                    });
  }

  // Inbound, outside a request: while the handler works, anything but the
  // peer's close breaks the one-at-a-time rule; otherwise the first bytes
  // start the next request (true: read them as such).
  bool StartNextRequest(ssize_t n) {
    if (n < 0) {
      Close(absl::OkStatus());  // the peer is done, or gave up waiting
      return false;
    }
    // A breach only while the handler works: while the reply is written
    // (its write not yet reported), a peer that has read it may well have
    // sent its next request.
    if (phase == Phase::kHandling) {
      BreaksOneAtATime();
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
      return false;
    }
    if (close_after_reply) return false;  // closing once written
    phase = Phase::kExchanging;
    started_ms = uv_now(owner->loop_);
    return true;
  }

  // A request sent before the reply to the previous one: the peer does
  // not wait for its replies. What it sent first is answered, the rest
  // ignored, and the connection closed.
  void BreaksOneAtATime() {
    ++owner->counters_->streams_malformed;
    close_after_reply = true;
  }

  void Answer(std::string bytes) {
    ReleaseReserved();
    if (bytes.empty()) {
      Close(absl::OkStatus());
      return;
    }
    phase = Phase::kReplying;
    // The reply has its own time to be written, however long the handler
    // took.
    started_ms = uv_now(owner->loop_);
    Arm();
    Write(std::move(bytes));
  }

  void Write(std::string bytes) {
    owner->counters_->stream_bytes_sent += bytes.size();
    int r = WriteOwned(reinterpret_cast<uv_stream_t*>(&tcp), std::move(bytes),
                       [](uv_stream_t* s, int status) {
                         static_cast<Conn*>(s->data)->OnWritten(status);
                       });
    if (r < 0) Close(absl::UnavailableError(UvError(r)));
  }

  void OnWritten(int status) {
    if (phase == Phase::kClosing) return;
    if (status < 0) {
      Close(absl::UnavailableError(UvError(status)));
      return;
    }
    // Outbound, the reply is being read. Inbound, the reply is in the
    // kernel's hands: on to the next request, unless it has begun already.
    if (!inbound || phase != Phase::kReplying) return;
    if (close_after_reply) {
      Close(absl::OkStatus());
      return;
    }
    phase = Phase::kWaiting;
    idle_since_ms = uv_now(owner->loop_);
    Arm();
  }

  void OnConnected(int status) {
    if (phase == Phase::kClosing) return;
    if (status < 0) {
      Close(absl::UnavailableError(UvError(status)));
      return;
    }
    phase = Phase::kExchanging;
    uv_tcp_nodelay(&tcp, 1);
    Arm();
    std::string request = std::move(out);
    Write(std::move(request));
    if (phase != Phase::kClosing) StartReading();
  }

  // Inbound: counted in Streams::inbound_ (not when refused on accept, or
  // once evicted).
  bool holds_slot = false;
  uint64_t idle_since_ms = 0;
};

Streams::Streams(uv_loop_t* loop, StreamOptions options, NetCounters* counters)
    : loop_(loop), options_(options), counters_(counters) {
  listener_.data = this;
}

Streams::~Streams() = default;

absl::Status Streams::Listen(uv_os_sock_t fd, Handler handler) {
  handler_ = std::move(handler);
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listener_open_ = true;
  closer_.Add();
  int r = uv_tcp_open(&listener_, fd);
  if (r == 0) {
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511,
                  &Streams::OnConnection);
  }
  if (r < 0)
    return absl::UnavailableError(absl::StrCat("cannot listen: ", UvError(r)));
  return absl::OkStatus();
}

void Streams::OnConnection(uv_stream_t* server, int status) {
  auto* s = static_cast<Streams*>(server->data);
  if (status < 0 || s->closer_.closing()) return;
  auto* c = new Conn(s, /*inbound=*/true);
  c->id = s->next_conn_id_++;
  s->inbound_by_id_[c->id] = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    c->Close(absl::UnavailableError("accept failed"));
    return;
  }
  sockaddr_storage peer;
  int len = sizeof(peer);
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&peer), &len) ==
      0) {
    c->peer = FormatAddress(peer);
  }
  if (s->options_.admit && !s->options_.admit(c->peer)) {
    ++s->counters_->streams_not_admitted;
    c->Close(absl::PermissionDeniedError("outside the allowed networks"));
    return;
  }
  if (s->inbound_ >= s->options_.max_inbound && !s->EvictIdle()) {
    ++s->counters_->streams_refused;
    c->Close(absl::ResourceExhaustedError("too many inbound streams"));
    return;
  }
  // Replies go out at once: with several requests on one connection, a
  // small reply must not wait for the ack of the last one.
  uv_tcp_nodelay(&c->tcp, 1);
  ++s->inbound_;
  c->holds_slot = true;
  ++s->counters_->streams_accepted;
  c->Arm();
  c->StartReading();
}

bool Streams::EvictIdle() {
  Conn* oldest = nullptr;
  for (Conn* c : conns_) {
    if (c->inbound && c->holds_slot && c->phase == Conn::Phase::kWaiting &&
        (oldest == nullptr || c->idle_since_ms < oldest->idle_since_ms))
      oldest = c;
  }
  if (oldest == nullptr) return false;
  ++counters_->streams_evicted;
  oldest->holds_slot = false;
  --inbound_;
  oldest->Close(absl::OkStatus());
  return true;
}

void Streams::OnAnswer(uint64_t conn_id, uint64_t request, std::string reply,
                       bool keep_open) {
  auto it = inbound_by_id_.find(conn_id);
  if (it == inbound_by_id_.end()) return;  // closed meanwhile
  Conn* c = it->second;
  if (c->phase != Conn::Phase::kHandling || c->requests != request) return;
  if (!keep_open) c->close_after_reply = true;
  c->Answer(std::move(reply));
}

void Streams::Exchange(const sockaddr_storage& to, std::string request,
                       Done done) {
  auto* c = new Conn(this, /*inbound=*/false);
  c->done = std::move(done);
  c->peer = FormatAddress(to);
  c->out = std::move(request);
  c->phase = Conn::Phase::kConnecting;
  ++counters_->streams_opened;
  if (closer_.closing()) {
    c->Close(absl::CancelledError("the node is shutting down"));
    return;
  }
  int r = uv_tcp_connect(
      &c->connect_req, &c->tcp, reinterpret_cast<const sockaddr*>(&to),
      [](uv_connect_t* req, int status) {
        static_cast<Conn*>(req->handle->data)->OnConnected(status);
      });
  if (r < 0) {
    c->Close(absl::UnavailableError(UvError(r)));
    return;
  }
  c->Arm();
}

void Streams::Forget(Conn* conn) {
  conns_.erase(conn);
  closer_.Done();  // may run the close's callback: the last use of `this`
}

void Streams::CloseAll(std::function<void()> closed) {
  closer_.Close(
      [this] {
        if (listener_open_) CloseHandle<&Streams::closer_>(&listener_);
        for (Conn* c : conns_)
          c->Close(absl::CancelledError("the node shut down"));
      },
      std::move(closed));
}

}  // namespace roster::net
