// Thread names: threading.Thread._name of each sampled thread, kept by the thread state's serial.
#include "pyfold/record/cpython/thread_names.hpp"

#include <algorithm>
#include <memory>
#include <string_view>

namespace pyfold::record {

namespace {
// A known name is read in full again this often (in updates), besides on a rename seen in its slot: a slot left
// behind when the Thread's dict grew (an attribute added after the start) may keep the old pointer. Rare: each full
// read costs about eight reads a thread.
constexpr std::uint64_t kFullReadEvery = 1024;
// Known names are checked for a rename every this many updates (one batched read of their slots): a rename is
// seen within as many samples, at a quarter of the reads.
constexpr std::uint64_t kRenameCheckEvery = 4;
// A thread threading does not know (yet) is looked up at each of its first updates, then again after 2, 4, ...
// updates, at most this many. Lookups made while the thread may still be starting (no frames yet, or a Thread in
// _limbo without its ident) do not count: on a loaded machine a thread can wait long for the GIL before it
// registers, and a 40 ms thread looked up 128 ms apart would keep its OS name.
constexpr std::uint64_t kEagerLookups = 16, kMaxLookupGap = 64;
const std::string kNoName;
}  // namespace

ThreadNames::Key ThreadNames::key_of(const ThreadStack& t) {
  // Without a serial (a layout that lacks it), the thread state and ident together are the best key there is.
  return t.serial ? Key{t.interp, t.serial} : Key{t.tstate, t.thread_id};
}

void ThreadNames::update(const std::vector<ThreadStack>& stacks) {
  ++updates_;
  checked_.clear();
  wanted_.clear();
  order_.clear();
  next_asked_ = 0;
  for (const ThreadStack& t : stacks) {
    const Key key = key_of(t);
    Entry& e = entries_[key];
    order_.push_back(&e);
    if (e.seen == updates_) continue;
    if (e.seen && e.ident != t.thread_id) e = Entry{};  // not the thread the entry was made for
    e.key = key;
    e.seen = updates_;
    e.ident = t.thread_id;
    e.tid = t.tid;
    // A thread without frames has left Thread._bootstrap, whose frame kept its Thread alive: its name stays.
    if (!e.thread) {
      e.starting = t.frames.empty();
      if (updates_ >= e.next_try) wanted_.push_back(&e);
    } else if (!t.frames.empty() && (updates_ % kRenameCheckEvery == 0 || e.named_at + 1 == updates_)) {
      checked_.push_back(&e);  // (and once right after it was named: a thread often renames itself as it starts)
    }
  }
  if (!checked_.empty()) {  // a rename sets the slot to another str: one read of every known slot
    ranges_.resize(checked_.size());
    slot_values_.assign(checked_.size(), 0);
    for (std::size_t i = 0; i < checked_.size(); ++i) ranges_[i] = {checked_[i]->slot, &slot_values_[i], 8};
    const std::size_t read = memory_.read_many(ranges_.data(), ranges_.size());
    for (std::size_t i = 0; i < checked_.size(); ++i) {
      Entry& e = *checked_[i];
      if (i < read && slot_values_[i] == e.name_object && updates_ - e.named_at < kFullReadEvery) continue;
      if (!read_name(e) && i < read)
        e.name_object = slot_values_[i];  // unreadable now: not read in full again until it changes once more
    }
  }
  if (!wanted_.empty()) look_up();
  if (entries_.size() > 2 * stacks.size() + 64)  // ended threads
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.seen + kMaxLookupGap < updates_ ? entries_.erase(it) : std::next(it);
}

const std::string& ThreadNames::name(const ThreadStack& thread) const {
  // Asked in the order of the update's stacks, as callers do (some threads skipped): no hashing then.
  const Key key = key_of(thread);
  for (std::size_t i = next_asked_; i < order_.size() && i < next_asked_ + 8; ++i)
    if (order_[i]->key == key) {
      next_asked_ = i + 1;
      return order_[i]->ident == thread.thread_id ? order_[i]->name : kNoName;
    }
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.ident == thread.thread_id ? it->second.name : kNoName;
}

bool ThreadNames::find_dicts() {
  if (active_) return true;
  // sys.modules["threading"].__dict__: _active and _limbo. Absent until the program imports threading.
  const GeneratedLayout& o = rt_.layout.offsets;
  std::uint64_t interp = 0, modules = 0, globals = 0;
  if (!memory_.read_value(rt_.runtime + o.runtime_interpreters_head, interp) || interp == 0 ||
      !memory_.read_value(interp + o.interp_modules, modules))
    return false;
  std::uint64_t threading = objects_.dict_get(modules, "threading");
  if (!threading || !memory_.read_value(threading + o.module_dict, globals)) return false;
  active_ = objects_.dict_get(globals, "_active");
  limbo_ = objects_.dict_get(globals, "_limbo");
  return active_ != 0;
}

void ThreadNames::look_up() {
  ++lookups_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  std::size_t found = 0;
  // The ident may be an ended thread's too (the sample was read a moment ago): read_name checks the native id.
  auto give = [&](std::uint64_t ident, std::uint64_t thread) {
    for (Entry* e : wanted_)
      if (!e->thread && e->ident == ident) {
        e->thread = thread;
        if (read_name(*e)) {
          e->misses = 0;
          ++found;
        } else {
          e->thread = 0;
        }
      }
  };
  const bool dicts = find_dicts();
  bool thread_starting = false;  // a Thread in _limbo has not set its ident yet: any thread looked up may be it
  if (dicts) {
    if (objects_.dict_items(active_, items)) {
      std::vector<std::uint64_t> keys(items.size()), idents(items.size());
      std::unique_ptr<bool[]> ok(new bool[items.size()]);
      for (std::size_t i = 0; i < items.size(); ++i) keys[i] = items[i].first;
      objects_.read_ints(keys.data(), keys.size(), idents.data(), ok.get());  // one read for every ident
      for (std::size_t i = 0; i < items.size(); ++i)
        if (items[i].second && ok[i]) give(idents[i], items[i].second);
    } else {
      active_ = limbo_ = 0;  // found again next time
    }
    // Started, not registered in _active yet: the Thread is a key of _limbo, its _ident set as it began to run.
    if (found < wanted_.size() && limbo_ && objects_.dict_items(limbo_, items)) {
      std::uint64_t ident = 0;
      for (const auto& [thread, value] : items) {
        std::uint64_t ident_object = objects_.attribute(thread, "_ident");
        if (ident_object && objects_.read_int(ident_object, ident))
          give(ident, thread);
        else
          thread_starting = true;
      }
    }
  }
  // A thread is looked up at every update while young (its start, before threading registers it, may take a few
  // samples), then less and less often (a thread threading does not know costs a lookup now and then only).
  for (Entry* e : wanted_)
    if (!e->thread && dicts && !thread_starting && !e->starting && ++e->misses > kEagerLookups)
      e->next_try = updates_ + std::min<std::uint64_t>(std::uint64_t{1} << std::min<std::uint64_t>(e->misses - kEagerLookups, 6),
                                                        kMaxLookupGap);
}

bool ThreadNames::read_name(Entry& e) {
  e.named_at = updates_;
  // The Thread must be this thread's (Thread._native_id, set as it starts): not an ended thread's, nor whatever
  // took its memory since.
  static const std::string_view kNames[] = {"_name", "_native_id"};
  std::uint64_t values[2] = {0, 0}, slots[2] = {0, 0};
  objects_.attributes(e.thread, kNames, 2, values, slots);
  const std::uint64_t object = values[0];
  if (e.tid) {
    std::uint64_t native_id = 0;
    if (!values[1] || !objects_.read_int(values[1], native_id) || native_id != static_cast<std::uint64_t>(e.tid))
      return false;
  }
  const std::uint64_t slot = slots[0];
  std::string name;
  if (!object || !objects_.read_string(object, name)) return false;  // keeps the name read before
  e.slot = slot;
  e.name_object = object;
  e.name = std::move(name);
  return true;
}

}  // namespace pyfold::record
