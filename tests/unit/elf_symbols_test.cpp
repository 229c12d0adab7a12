// ELF symbol lookup (os/elf_symbols.hpp).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "pyfold/record/os/elf_symbols.hpp"

using namespace pyfold::record;

extern "C" {
int pyfold_elf_test_symbol = 42;  // looked up in this test binary's own symbol table
}

TEST_CASE("ELF lookup: a symbol of this binary, sections, and a non-ELF file") {
  auto self = ElfFile::open("/proc/self/exe");
  REQUIRE(self);
  auto symbol = self->symbol("pyfold_elf_test_symbol");
  REQUIRE(symbol);
  CHECK(symbol->size == sizeof(int));
  CHECK(self->section(".text"));
  CHECK_FALSE(self->section(".PyRuntime"));
  CHECK_FALSE(self->symbol("no_such_symbol_anywhere"));
  // The symbol's link-time address plus the load bias is where it really is.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::uint64_t start = 0;
  char self_path[4096] = {0};
  REQUIRE(readlink("/proc/self/exe", self_path, sizeof self_path - 1) > 0);
  while (std::getline(maps, line))
    if (line.find(self_path) != std::string::npos && line.find(" 00000000 ") != std::string::npos) {
      start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
      break;
    }
  REQUIRE(start != 0);
  std::uint64_t bias = self->is_executable_type() ? 0 : start - self->first_load_address();
  CHECK(bias + symbol->value == reinterpret_cast<std::uint64_t>(&pyfold_elf_test_symbol));
  CHECK_FALSE(ElfFile::open(PYFOLD_UNIT_DATA "/line_tables.txt"));
  CHECK_FALSE(ElfFile::open("/no/such/file"));
}

TEST_CASE("ELF lookup: Debian's static python3.11 has _PyRuntime in .dynsym and a .PyRuntime section") {
  auto python = ElfFile::open("/usr/bin/python3.11");
  if (!python) {
    WARN("skipped: /usr/bin/python3.11 is not installed");
    return;
  }
  auto runtime = python->symbol("_PyRuntime");
  auto section = python->section(".PyRuntime");
  REQUIRE(runtime);
  REQUIRE(section);
  CHECK(runtime->value == section->value);
  CHECK(python->symbol("PyCode_Type"));
  CHECK(python->symbol("Py_Version"));
}
