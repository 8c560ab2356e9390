// The member table: every member this one knows of, the precedence rules
// that decide whether news about a member replaces what we believe, and the
// shuffled round-robin order in which members are probed.
//
// A table is compact on purpose: a simulation of 10,000 members holds
// 100,000,000 entries, so an entry is one 64-byte cache line that usually
// holds its name, address and metadata too, and suspicions live on the side.
#ifndef ROSTER_CORE_MEMBER_TABLE_H_
#define ROSTER_CORE_MEMBER_TABLE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "core/chunked_slots.h"
#include "core/suspicion.h"
#include "roster/member.h"
#include "util/string_view.h"

namespace roster::core {

using RandomFn = absl::FunctionRef<uint64_t()>;

// Uniform in [0, n); n > 0.
size_t RandomBelow(RandomFn random, size_t n);

// One member as this member sees it. Owned by a MemberTable; pointers stay
// valid until the member is forgotten.
//
// One cache line: a lookup that finds a member compares its name, reads
// its state and incarnation, and usually its address, all in one line.
// Name, address and metadata share one text block, inside the member when
// they fit (most names and addresses are short) and on the heap otherwise.
class alignas(64) Member {
 public:
  Member() = default;
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;
  ~Member() { FreeText(); }

  std::string_view name() const { return {text(), name_len_}; }
  std::string_view addr() const { return {text() + name_len_, addr_len_}; }
  std::string_view meta() const {
    return {text() + name_len_ + addr_len_, meta_len_};
  }
  MemberState state() const { return state_; }
  uint64_t incarnation() const { return incarnation_; }
  uint32_t life() const { return life_; }
  Reachability reachability() const {
    return static_cast<Reachability>(reachability_);
  }
  EventType last_change() const { return static_cast<EventType>(last_change_); }
  // The protocol versions this life advertised; 0: not said (version 1).
  uint32_t protocol_min() const { return protocol_min_; }
  uint32_t protocol_max() const { return protocol_max_; }
  absl::Time state_changed() const { return absl::FromUnixNanos(changed_ns_); }
  MemberInfo Info() const;

  void set_incarnation(uint64_t incarnation) { incarnation_ = incarnation; }
  void set_life(uint32_t life) { life_ = life; }
  void set_reachability(Reachability r) {
    reachability_ = static_cast<uint8_t>(r);
  }
  // What happened last, and when (a restart or an update changes no
  // state, but is news about the member all the same).
  void set_last_change(EventType type, absl::Time at) {
    last_change_ = static_cast<uint8_t>(type);
    changed_ns_ = absl::ToUnixNanos(at);
  }
  // Whether this member has been probed over TCP yet (logged the first
  // time).
  bool tcp_probed() const { return tcp_probed_; }
  void set_tcp_probed() { tcp_probed_ = 1; }
  // Held in a byte each: a bigger claim is kept at 255.
  void set_protocols(uint32_t min, uint32_t max) {
    protocol_min_ = static_cast<uint8_t>(std::min<uint32_t>(min, 255));
    protocol_max_ = static_cast<uint8_t>(std::min<uint32_t>(max, 255));
  }

 private:
  friend class MemberTable;
  static constexpr size_t kInlineText = 32;

  const char* text() const { return on_heap_ ? heap_text_ : inline_text_; }
  // The views may point into this member's own text.
  void SetText(std::string_view name, std::string_view addr,
               std::string_view meta);
  void FreeText();

  uint64_t incarnation_ = 0;
  int64_t changed_ns_ = 0;
  uint32_t meta_len_ = 0;
  uint32_t life_ = 0;
  uint8_t name_len_ = 0;
  uint8_t addr_len_ = 0;
  MemberState state_ = MemberState::kAlive;
  // Bits, so that a member stays one cache line.
  uint8_t on_heap_ : 1 = 0;
  uint8_t reachability_ : 1 = 0;  // a Reachability
  uint8_t last_change_ : 4 = 0;   // an EventType: what happened last
  uint8_t tcp_probed_ : 1 = 0;
  uint8_t protocol_min_ = 0;
  uint8_t protocol_max_ = 0;
  union {
    char* heap_text_;
    char inline_text_[kInlineText];
  };
};
static_assert(sizeof(Member) == 64);

// A suspicion in progress, kept beside the table: few members are suspect
// at any time.
struct SuspicionState {
  std::unique_ptr<Suspicion> suspicion;
  uint64_t generation = 0;  // tags this suspicion's timers
  absl::Time told_suspect = absl::InfinitePast();  // last direct notice
};

// What to do with a piece of news about a known member, given its current
// state and incarnation. Alive beats suspect or dead only at a higher
// incarnation; suspect beats alive at an equal or higher one and confirms
// an existing suspicion; dead beats alive and suspect at an equal or higher
// one; nothing beats dead or left except a higher-incarnation alive.
enum class Verdict { kIgnore, kApply, kConfirm };
Verdict AliveVerdict(MemberState state, uint64_t current, uint64_t incoming);
Verdict SuspectVerdict(MemberState state, uint64_t current, uint64_t incoming);
Verdict DeadVerdict(MemberState state, uint64_t current, uint64_t incoming);
inline Verdict AliveVerdict(const MemberInfo& m, uint64_t incarnation) {
  return AliveVerdict(m.state, m.incarnation, incarnation);
}
inline Verdict SuspectVerdict(const MemberInfo& m, uint64_t incarnation) {
  return SuspectVerdict(m.state, m.incarnation, incarnation);
}
inline Verdict DeadVerdict(const MemberInfo& m, uint64_t incarnation) {
  return DeadVerdict(m.state, m.incarnation, incarnation);
}

class MemberTable {
 public:
  MemberTable() = default;
  // Not copied nor moved: the name index points back at the table.
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;

  Member* Find(std::string_view name);
  const Member* Find(std::string_view name) const;
  // The member most recently known at `addr`, if any.
  Member* FindByAddr(std::string_view addr);

  // Warms the cache for finding the members named soon after: the lookups
  // of one datagram's messages then wait for memory together instead of
  // one after another. `names` is a range, `name_of` gives each one's name
  // (an empty name is skipped). Changes nothing.
  template <typename Range, typename NameOf>
  void Prefetch(const Range& names, NameOf name_of) const {
    // First the index entries, then, by hash alone, the members they
    // point to: no name is compared, so nothing waits for a member.
    for (const auto& item : names) {
      const std::string_view name = name_of(item);
      if (!name.empty()) by_name_.prefetch(NameKey{name, NameHash::Of(name)});
    }
    for (const auto& item : names) {
      const std::string_view name = name_of(item);
      if (name.empty()) continue;
      auto it = by_name_.find(HashKey{NameHash::Of(name)});
      if (it != by_name_.end()) __builtin_prefetch(&slots_[it->slot]);
    }
  }

  // Adds a member at a random place in the probe order. Names and
  // addresses longer than 255 bytes are a caller bug (limits forbid them).
  Member* Add(const MemberInfo& info, RandomFn random);
  // Forgets `member` now (a forced leave with prune), as the reaping of
  // NextProbeTarget does once retention has passed; `member` is invalid
  // afterwards.
  void Remove(Member* member);
  void SetState(Member& member, MemberState state, absl::Time now);
  void SetAddr(Member& member, std::string_view addr);
  void SetMeta(Member& member, std::string_view meta);

  // The suspicion of `member`, created empty if there is none.
  SuspicionState& Suspicion(const Member& member);
  SuspicionState* FindSuspicion(const Member& member);
  void ClearSuspicion(const Member& member);
  // The lives of `member` that ended (replaced by a later one), newest
  // first, at most kEndedLives: news naming one of them is stale.
  static constexpr size_t kEndedLives = 4;
  // True if `life` was not known to have ended.
  bool EndLife(const Member& member, uint32_t life);
  bool Ended(const Member& member, uint32_t life) const;
  // The life `member`'s current one replaced, or 0 if none is known.
  uint32_t PreviousLife(const Member& member) const;

  // The smoothed round-trip time of this member's direct probes of
  // `member` (core/rtt.h), ZeroDuration before the first.
  absl::Duration Rtt(const Member& member) const;
  void AddRttSample(const Member& member, absl::Duration sample);
  // The network coordinate last heard from `member` (for this member, its
  // own), or null; forgotten with the member.
  const Coordinate* CoordinateOf(const Member& member) const;
  void SetCoordinate(const Member& member, const Coordinate& coordinate);
  // What the application sees of `member`: Member::Info, its RTT and its
  // coordinate.
  MemberInfo Info(const Member& member) const;

  // A number never handed out before, for tagging timers.
  uint64_t NextGeneration() { return ++generation_; }

  size_t size() const { return order_.size(); }
  size_t count(MemberState state) const {
    return counts_[static_cast<size_t>(state)];
  }
  size_t NumAlive() const {
    return count(MemberState::kAlive) + count(MemberState::kSuspect);
  }
  // Every member, in probe order: deterministic for a given history.
  const std::vector<Member*>& members() const { return order_; }

  // The next alive or suspect member other than `self` to probe, walking
  // the order; at the end of each pass the order is reshuffled and members
  // dead or left for longer than `retention` are forgotten. Null when there
  // is no one to probe.
  Member* NextProbeTarget(std::string_view self, RandomFn random,
                          absl::Time now, absl::Duration retention);

  // Up to `k` distinct members for which `accept` holds, chosen at random
  // (bounded effort: 3 * size() draws).
  std::vector<Member*> Sample(size_t k, RandomFn random,
                              absl::FunctionRef<bool(const Member&)> accept);

 private:
  // The name index holds each member's slot beside 32 bits of its name's
  // hash: names are compared only when the hashes match, and a lookup can
  // be prefetched by hash alone (see Prefetch).
  struct NameRef {
    uint32_t hash;
    uint32_t slot;
  };
  struct NameKey {
    std::string_view name;
    uint32_t hash;
  };
  struct HashKey {
    uint32_t hash;
  };
  struct NameHash {
    using is_transparent = void;
    static uint32_t Of(std::string_view name) {
      return static_cast<uint32_t>(
          absl::Hash<absl::string_view>()(util::ToAbsl(name)));
    }
    size_t operator()(const NameRef& r) const { return r.hash; }
    size_t operator()(const NameKey& k) const { return k.hash; }
    size_t operator()(const HashKey& k) const { return k.hash; }
  };
  struct NameEq {
    using is_transparent = void;
    const MemberTable* table;
    bool operator()(const NameRef& a, const NameRef& b) const {
      return a.hash == b.hash &&
             table->slots_[a.slot].name() == table->slots_[b.slot].name();
    }
    bool operator()(const NameRef& a, const NameKey& k) const {
      return a.hash == k.hash && table->slots_[a.slot].name() == k.name;
    }
    bool operator()(const NameRef& a, const HashKey& k) const {
      return a.hash == k.hash;
    }
  };
  using NameIndex = absl::flat_hash_set<NameRef, NameHash, NameEq>;

  // The address index holds member pointers, hashed and compared by the
  // member's address, and looked up by a plain string.
  struct AddrHash {
    using is_transparent = void;
    size_t operator()(const Member* m) const { return (*this)(m->addr()); }
    size_t operator()(std::string_view s) const {
      return absl::Hash<absl::string_view>()(util::ToAbsl(s));
    }
  };
  struct AddrEq {
    using is_transparent = void;
    bool operator()(const Member* a, const Member* b) const { return a == b; }
    bool operator()(const Member* a, std::string_view b) const {
      return a->addr() == b;
    }
    bool operator()(std::string_view a, const Member* b) const {
      return a == b->addr();
    }
  };
  using AddrIndex = absl::flat_hash_set<Member*, AddrHash, AddrEq>;

  NameIndex::const_iterator FindName(std::string_view name) const {
    return by_name_.find(NameKey{name, NameHash::Of(name)});
  }
  void Forget(Member* m);
  void Reshuffle(std::string_view self, RandomFn random, absl::Time now,
                 absl::Duration retention);

  ChunkedSlots<Member> slots_;  // stable addresses; freed slots are reused
  std::vector<uint32_t> free_;
  NameIndex by_name_{0, NameHash(), NameEq{this}};
  AddrIndex by_addr_;
  absl::flat_hash_map<const Member*, SuspicionState> suspicions_;
  // Kept beside the table too: few members have restarted.
  absl::flat_hash_map<const Member*, std::array<uint32_t, kEndedLives>>
      ended_lives_;
  // Smoothed RTTs in microseconds by slot (0: none), beside the records
  // rather than in them: 4 bytes a member, grown as members are probed.
  std::vector<uint32_t> rtt_us_;
  // Coordinates (about 90 bytes) of the members probed directly, by
  // member: only those whose acks carried one.
  absl::flat_hash_map<const Member*, Coordinate> coordinates_;
  std::vector<Member*> order_;
  size_t next_ = 0;
  uint64_t generation_ = 0;
  std::array<size_t, 4> counts_{};
};

}  // namespace roster::core

#endif  // ROSTER_CORE_MEMBER_TABLE_H_
