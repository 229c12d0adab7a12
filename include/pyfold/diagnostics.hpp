#pragma once
// Invalid input lines: counted and summarised, or fatal at the first one with --strict.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pyfold {

// Input the stage cannot use. what() is "source:line: reason" when a line is at fault.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InvalidLineLog {
 public:
  explicit InvalidLineLog(bool strict = false) : strict_(strict) {}

  // Records an invalid line; throws InputError("source:line: reason") in strict mode.
  void record(const std::string& source, std::uint64_t line, std::string_view reason);

  std::uint64_t count() const { return count_; }
  // "source:line: reason" of the first invalid line.
  const std::string& first() const { return first_; }
  // "ignored 3 invalid lines (first: input.folded:17: no count)", or "" when there were none.
  std::string summary() const;

 private:
  bool strict_;
  std::uint64_t count_ = 0;
  std::string first_;
};

}  // namespace pyfold
