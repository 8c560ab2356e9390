#include "store.h"

namespace cache {

Version Store::Apply(const std::string& key, Entry entry) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = slots_.try_emplace(key);
  Slot& slot = it->second;
  if (inserted || slot.entry.version < entry.version) {
    slot.entry = std::move(entry);
    slot.holders.clear();
  }
  return slot.entry.version;
}

std::optional<Entry> Store::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return std::nullopt;
  return it->second.entry;
}

std::vector<std::pair<std::string, Version>> Store::Versions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, Version>> out;
  out.reserve(slots_.size());
  for (const auto& [key, slot] : slots_)
    out.emplace_back(key, slot.entry.version);
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(slots_.size());
  for (const auto& [key, slot] : slots_) out.push_back(key);
  return out;
}

size_t Store::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.size();
}

bool Store::Confirmed(const std::string& key, const Version& version,
                      const Holder& holder) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  return it != slots_.end() && it->second.entry.version == version &&
         it->second.holders.count(holder) != 0;
}

void Store::Confirm(const std::string& key, const Version& version,
                    Holder holder) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end() && it->second.entry.version == version)
    it->second.holders.insert(std::move(holder));
}

void Store::KeepOnly(const std::string& key, const std::set<Holder>& owners) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  std::erase_if(it->second.holders,
                [&](const Holder& h) { return owners.count(h) == 0; });
}

void Store::Drop(const std::string& key, const Version& version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end() && it->second.entry.version == version)
    slots_.erase(it);
}

}  // namespace cache
