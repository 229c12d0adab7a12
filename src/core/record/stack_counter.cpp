#include "pyfold/record/stack_counter.hpp"

#include <algorithm>


namespace pyfold::record {

std::uint32_t StackCounter::intern(std::string_view text) {
  auto [it, inserted] = ids_.try_emplace(std::string(text), static_cast<std::uint32_t>(texts_.size()));
  if (inserted) texts_.emplace_back(text);
  return it->second;
}

void StackCounter::add(const std::vector<std::uint32_t>& stack, std::uint64_t count) {
  total_ += count;
  if (timeline_) {
    if (!timeline_counts_.empty() && timeline_counts_.back().first == stack) {
      timeline_counts_.back().second += count;
    } else {
      timeline_counts_.emplace_back(stack, count);
    }
    return;
  }
  auto it = counts_.find(stack);
  if (it != counts_.end()) {
    it->second += count;
  } else {
    counts_.emplace(stack, count);
  }
}

std::string StackCounter::line(const std::vector<std::uint32_t>& stack) const {
  std::string s;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    if (i) s.push_back(';');
    s += texts_[stack[i]];
  }
  return s;
}

void StackCounter::write(OutputSink& out) const {
  std::string text;
  if (timeline_) {
    for (const auto& [stack, count] : timeline_counts_) {
      text = line(stack);
      text.push_back(' ');
      text += std::to_string(count);
      text.push_back('\n');
      out.write(text);
    }
    return;
  }
  std::vector<std::pair<std::string, std::uint64_t>> lines;
  lines.reserve(counts_.size());
  for (const auto& [stack, count] : counts_) lines.emplace_back(line(stack), count);
  std::sort(lines.begin(), lines.end());
  for (auto& [stack, count] : lines) {
    stack.push_back(' ');
    stack += std::to_string(count);
    stack.push_back('\n');
    out.write(stack);
  }
}

}  // namespace pyfold::record
