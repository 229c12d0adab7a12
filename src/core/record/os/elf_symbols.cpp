// ELF64 lookup over an mmapped file. Every offset read from the file is bounds-checked.
#include "pyfold/record/os/elf_symbols.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace pyfold::record {

namespace {
template <class T>
const T* at(const unsigned char* data, std::size_t size, std::uint64_t offset, std::uint64_t count = 1) {
  if (offset > size || count > (size - offset) / sizeof(T)) return nullptr;
  return reinterpret_cast<const T*>(data + offset);
}
}  // namespace

std::unique_ptr<ElfFile> ElfFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    ::close(fd);
    return nullptr;
  }
  void* map = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return nullptr;
  std::unique_ptr<ElfFile> elf(new ElfFile);
  elf->data_ = static_cast<const unsigned char*>(map);
  elf->size_ = static_cast<std::size_t>(st.st_size);
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(elf->data_);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_ident[EI_DATA] != ELFDATA2LSB)
    return nullptr;
  elf->exec_type_ = eh->e_type == ET_EXEC;
  auto* ph = at<Elf64_Phdr>(elf->data_, elf->size_, eh->e_phoff, eh->e_phnum);
  if (!ph) return nullptr;
  for (unsigned i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_LOAD) {
      std::uint64_t align = ph[i].p_align > 1 ? ph[i].p_align : 4096;
      elf->first_load_ = (ph[i].p_vaddr - ph[i].p_offset) & ~(align - 1);
      break;
    }
  }
  return elf;
}

ElfFile::~ElfFile() {
  if (data_) munmap(const_cast<unsigned char*>(data_), size_);
}

std::optional<ElfSymbol> ElfFile::find_in(std::uint32_t section_type, std::string_view name) const {
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data_);
  auto* sh = at<Elf64_Shdr>(data_, size_, eh->e_shoff, eh->e_shnum);
  if (!sh) return std::nullopt;
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != section_type || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr& strings = sh[sh[i].sh_link];
    std::uint64_t count = sh[i].sh_size / sizeof(Elf64_Sym);
    auto* syms = at<Elf64_Sym>(data_, size_, sh[i].sh_offset, count);
    if (!syms || strings.sh_offset > size_) continue;
    const char* strtab = reinterpret_cast<const char*>(data_ + strings.sh_offset);
    std::uint64_t strsize = std::min<std::uint64_t>(strings.sh_size, size_ - strings.sh_offset);
    for (std::uint64_t k = 0; k < count; ++k) {
      if (syms[k].st_shndx == SHN_UNDEF || syms[k].st_name >= strsize) continue;
      const char* s = strtab + syms[k].st_name;
      std::size_t max = strsize - syms[k].st_name;
      if (name.size() < max && std::memcmp(s, name.data(), name.size()) == 0 && s[name.size()] == '\0')
        return ElfSymbol{syms[k].st_value, syms[k].st_size};
    }
  }
  return std::nullopt;
}

std::optional<ElfSymbol> ElfFile::symbol(std::string_view name) const {
  if (auto s = find_in(SHT_DYNSYM, name)) return s;
  return find_in(SHT_SYMTAB, name);
}

std::optional<ElfSymbol> ElfFile::section(std::string_view name) const {
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data_);
  auto* sh = at<Elf64_Shdr>(data_, size_, eh->e_shoff, eh->e_shnum);
  if (!sh || eh->e_shstrndx >= eh->e_shnum) return std::nullopt;
  const Elf64_Shdr& names = sh[eh->e_shstrndx];
  if (names.sh_offset > size_) return std::nullopt;
  std::uint64_t limit = std::min<std::uint64_t>(names.sh_size, size_ - names.sh_offset);
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_name >= limit) continue;
    const char* s = reinterpret_cast<const char*>(data_ + names.sh_offset + sh[i].sh_name);
    std::size_t max = limit - sh[i].sh_name;
    if (name.size() < max && std::memcmp(s, name.data(), name.size()) == 0 && s[name.size()] == '\0')
      return ElfSymbol{sh[i].sh_addr, sh[i].sh_size};
  }
  return std::nullopt;
}

}  // namespace pyfold::record
