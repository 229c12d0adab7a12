#pragma once
// Symbols and sections of an ELF64 file (the executable or libpython that holds CPython's runtime).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pyfold::record {

struct ElfSymbol {
  std::uint64_t value = 0;  // link-time address (add the load bias)
  std::uint64_t size = 0;
};

class ElfFile {
 public:
  // Maps the file read-only; nullopt when it is not a readable ELF64 little-endian file.
  static std::unique_ptr<ElfFile> open(const std::string& path);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  // A defined symbol by name: .dynsym first, then .symtab.
  std::optional<ElfSymbol> symbol(std::string_view name) const;
  // A section's address and size by name (such as ".PyRuntime").
  std::optional<ElfSymbol> section(std::string_view name) const;
  // The page-aligned virtual address of the first PT_LOAD: bias = mapping start of file offset 0 - this.
  std::uint64_t first_load_address() const { return first_load_; }
  bool is_executable_type() const { return exec_type_; }  // ET_EXEC: no bias

 private:
  ElfFile() = default;
  std::optional<ElfSymbol> find_in(std::uint32_t section_type, std::string_view name) const;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t first_load_ = 0;
  bool exec_type_ = false;
};

}  // namespace pyfold::record
