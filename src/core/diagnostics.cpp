#include "pyfold/diagnostics.hpp"

namespace pyfold {

void InvalidLineLog::record(const std::string& source, std::uint64_t line, std::string_view reason) {
  std::string where = source + ":" + std::to_string(line) + ": " + std::string(reason);
  if (strict_) throw InputError(where);
  if (count_ == 0) first_ = std::move(where);
  ++count_;
}

std::string InvalidLineLog::summary() const {
  if (count_ == 0) return std::string();
  return "ignored " + std::to_string(count_) + (count_ == 1 ? " invalid line" : " invalid lines") +
         " (first: " + first_ + ")";
}

}  // namespace pyfold
