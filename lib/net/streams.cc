// One request and one reply per TCP connection (streams.h): each
// connection's phases, timeouts and byte limits, and the bookkeeping that
// lets Streams close them all.
#include "net/streams.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "net/stream.h"

namespace roster::net {

std::string UvError(int code) { return uv_strerror(code); }

namespace {

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

struct Streams::Conn {
  enum class Phase { kConnecting, kExchanging, kReplying, kClosing };

  Streams* owner;
  bool inbound;
  Phase phase = Phase::kExchanging;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  uv_write_t write_req;
  std::string peer;
  std::string out;        // what is being written
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
    if (inbound && !refused) --s->inbound_;
    s->inbound_bytes_ -= reserved;
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

  // Restarts the timer: the connect timeout while connecting, afterwards
  // the idle timeout, both capped by what is left of the stream timeout.
  void Arm() {
    const StreamOptions& o = owner->options_;
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
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    std::string in = reader.TakeFrame();
    if (!inbound) {
      reply = std::move(in);
      Close(absl::OkStatus());
      return;
    }
    std::string reply = owner->handler_(peer, in);
    if (reply.empty()) {
      Close(absl::OkStatus());
      return;
    }
    phase = Phase::kReplying;
    Write(std::move(reply));
  }

  void Write(std::string bytes) {
    out = std::move(bytes);
    owner->counters_->stream_bytes_sent += out.size();
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    int r = uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                     [](uv_write_t* req, int status) {
                       auto* c = static_cast<Conn*>(req->handle->data);
                       c->OnWritten(status);
                     });
    if (r < 0) Close(absl::UnavailableError(UvError(r)));
  }

  void OnWritten(int status) {
    if (phase == Phase::kClosing) return;
    if (status < 0) {
      Close(absl::UnavailableError(UvError(status)));
      return;
    }
    out.clear();
    // Inbound, the reply is in the kernel's hands; outbound, the reply
    // is being read.
    if (inbound) Close(absl::OkStatus());
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

  bool refused = false;
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
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    c->refused = true;
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
    c->refused = true;
    c->Close(absl::PermissionDeniedError("outside the allowed networks"));
    return;
  }
  if (s->inbound_ >= s->options_.max_inbound) {
    ++s->counters_->streams_refused;
    c->refused = true;
    c->Close(absl::ResourceExhaustedError("too many inbound streams"));
    return;
  }
  ++s->inbound_;
  ++s->counters_->streams_accepted;
  c->Arm();
  c->StartReading();
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
