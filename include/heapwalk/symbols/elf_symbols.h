// ElfSymbols: what a Go program's executable says about the addresses in its
// heap dump. Only what --binary needs: the symbol table (.symtab/.strtab) to
// name globals, the type descriptors to give full type names, and the Go
// version the executable was built with.
//
// Contract:
// - Input: an ELF64 little-endian executable (static or PIE). Anything else,
//   and any header, section, symbol or string that lies outside the file, is
//   an InputError naming the file and the offset of the bad field. A stripped
//   executable (no .symtab) is accepted: it names nothing (symbol_count() 0)
//   and warnings() says why.
// - Addresses passed in and returned are RUNTIME addresses (as the dump has
//   them): ELF address + load_bias(). The bias is 0 for a non-PIE executable;
//   match_binary() sets it for a PIE from the dump's data segment.
// - Type names: a `type.X` (Go <= 1.19) / `type:X` (Go 1.20+) symbol at the
//   address when the executable has one (dynamically linked Go code keeps
//   them; a normal static Go binary does NOT emit type symbols), else the
//   name decoded from the type descriptor itself (runtime._type: tflag at
//   +20, str nameOff at +40 on 64-bit for Go 1.17..1.25, the name relative to
//   runtime.types). Never a guess: "" when the address is not a descriptor in
//   [runtime.types, runtime.etypes) or its name does not decode.
// - The executable's bytes are memory-mapped (InputBuffer) and kept for the
//   object's lifetime; lookups are O(log n) over the sorted symbols.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heapwalk/input.h"

namespace heapwalk {

class Snapshot;
class DwarfTypes;  // symbols/dwarf_types.h

class ElfSymbols {
 public:
  struct Symbol {
    uint64_t address;  // ELF address (no load bias)
    uint64_t size;
    std::string_view name;  // into the mapped .strtab
    bool function;          // STT_FUNC
  };

  // Throws InputError (file named, offset of the bad field) on anything that
  // is not a well-formed ELF64 little-endian file. open() also reads the
  // file's DWARF (dwarf()); from_bytes() has none.
  static ElfSymbols open(const std::string& path);
  static ElfSymbols from_bytes(std::string name, std::span<const uint8_t> bytes);

  ElfSymbols(ElfSymbols&&) noexcept;
  ElfSymbols& operator=(ElfSymbols&&) noexcept;
  ~ElfSymbols();

  const std::string& path() const { return input_->name(); }
  std::span<const uint8_t> bytes() const { return input_->bytes(); }  // the whole file
  bool position_independent() const { return pie_; }                  // ET_DYN
  // "go1.19.8" (runtime.buildVersion, else .go.buildinfo); "" when not found.
  const std::string& go_version() const { return go_version_; }
  size_t symbol_count() const { return symbols_.size(); }
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The executable's DWARF types and globals, or nullptr (from_bytes, or no
  // DWARF: then warnings() says so).
  const DwarfTypes* dwarf() const { return dwarf_.get(); }

  int64_t load_bias() const { return bias_; }
  void set_load_bias(int64_t bias) { bias_ = bias; }

  // The symbol whose [address, address + size) holds the runtime address
  // (for equal starts the sized one; size-0 markers only on an exact hit),
  // or nullptr.
  const Symbol* symbol_at(uint64_t address) const;
  // "main.registry", "main.registry+0x10", or "" when no symbol holds it.
  std::string symbol_name(uint64_t address) const;
  // The first symbol with exactly this name, or nullptr. O(n) first call,
  // then O(log n).
  const Symbol* find_symbol(std::string_view name) const;

  // Full name of the type whose descriptor is at the runtime address
  // ("*context.cancelCtx"), or "" (see the contract above).
  std::string type_name(uint64_t address) const;
  // Size and pointer-bytes of the type at the runtime address (from the
  // descriptor), when it decodes: checks a malloc header before trusting it.
  struct TypeShape {
    uint64_t size, ptrdata;
  };
  std::optional<TypeShape> type_shape(uint64_t address) const;
  // The element type's runtime address when the descriptor is a pointer
  // type (kind 22), else 0.
  uint64_t pointer_elem(uint64_t address) const;

  // An allocated (SHF_ALLOC) section by name: ELF address and size.
  struct Section {
    std::string name;
    uint64_t address, size, offset;
    bool nobits;
  };
  std::optional<Section> section(std::string_view name) const;

  // Bytes at an ELF address inside a file-backed section, or empty when any
  // of [address, address + n) lies outside one.
  std::span<const uint8_t> bytes_at(uint64_t elf_address, uint64_t n) const;

 private:
  ElfSymbols();
  void parse();
  void read_go_version();
  void read_type_symbols();
  [[noreturn]] void fail(uint64_t offset, const std::string& message) const;
  std::string decode_type_name(uint64_t elf_address) const;

  std::unique_ptr<InputBuffer> input_;
  bool pie_ = false;
  int64_t bias_ = 0;
  std::string go_version_;
  std::vector<Section> sections_;
  std::vector<Symbol> symbols_;            // sorted by (address, size descending)
  mutable std::vector<uint32_t> by_name_;  // indexes into symbols_, sorted by name (lazy)
  std::vector<std::pair<uint64_t, std::string_view>> type_symbols_;  // ELF address -> "X" of type.X
  uint64_t types_begin_ = 0, types_end_ = 0;  // runtime.types .. runtime.etypes (ELF)
  int go_minor_ = 0;
  std::vector<std::string> warnings_;
  std::unique_ptr<DwarfTypes> dwarf_;
};

// How well an executable fits a dump.
struct BinaryMatch {
  bool layout_matches = false;        // data/bss segments are the executable's .data/.bss
  bool go_version_matches = false;    // runtime.buildVersion == the params record's version
  std::vector<std::string> warnings;  // one line each, for stderr
};

// Compares the executable with the dump and, for a PIE, sets its load bias
// from the dump's data segment. When the layout does not match, its symbols
// would name the wrong things: callers should not use it (the CLI does not).
BinaryMatch match_binary(const Snapshot& snapshot, ElfSymbols& binary);

}  // namespace heapwalk
