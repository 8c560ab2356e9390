// Closing is asynchronous in libuv: uv_close() returns at once and the
// handle has closed only when its callback runs, on a later turn of the
// loop. An object that owns handles may go only after all of them have
// closed, so every owner in lib/net (the loop thread, the runtime, the
// resolver, the streams and each connection) has to know when that is;
// this is the one place that counts.
//
// The owner adds what is open (a handle when it is initialized, or a part
// that closes on its own and reports once), reports each one closed, and
// starts the close once. The callback it gives runs when everything has
// closed. That callback may destroy the owner, and the group with it: the
// group touches nothing of itself after calling it, and callers must not
// touch the owner after Done() or Close() returns.
#ifndef ROSTER_NET_CLOSE_GROUP_H_
#define ROSTER_NET_CLOSE_GROUP_H_

#include <uv.h>

#include <functional>
#include <utility>

namespace roster::net {

class CloseGroup {
 public:
  CloseGroup() = default;
  CloseGroup(const CloseGroup&) = delete;
  CloseGroup& operator=(const CloseGroup&) = delete;

  // `n` more things are open.
  void Add(int n = 1) { open_ += n; }

  // One of them has closed. Once the close has begun, the last one runs the
  // callback.
  void Done() {
    if (--open_ > 0 || !closing_ || closed_) return;
    closed_ = true;
    std::function<void()> closed = std::move(on_closed_);
    on_closed_ = nullptr;
    if (closed) closed();  // may destroy this group
  }

  // Starts the close, once: closing() turns true, `close_all` closes (or
  // starts closing) everything open, and `closed` runs once all of it has,
  // perhaps before Close() returns, never before `close_all` has.
  template <typename CloseAll>
  void Close(CloseAll close_all, std::function<void()> closed) {
    closing_ = true;
    on_closed_ = std::move(closed);
    ++open_;  // held while close_all runs
    close_all();
    Done();
  }

  bool closing() const { return closing_; }
  // The callback has run, or is running: nothing is left to close.
  bool closed() const { return closed_; }

 private:
  int open_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  std::function<void()> on_closed_;
};

template <typename Member>
struct MemberOwner;
template <typename Owner>
struct MemberOwner<CloseGroup Owner::*> {
  using type = Owner;
};

// uv_close() for a handle whose data points at its owner; kGroup, the
// owner's CloseGroup member, hears when it has closed:
//   CloseHandle<&Streams::closer_>(&listener_);
template <auto kGroup, typename Handle>
void CloseHandle(Handle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
    using Owner = typename MemberOwner<decltype(kGroup)>::type;
    (static_cast<Owner*>(h->data)->*kGroup).Done();
  });
}

}  // namespace roster::net

#endif  // ROSTER_NET_CLOSE_GROUP_H_
