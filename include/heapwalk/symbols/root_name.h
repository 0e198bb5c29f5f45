// Root names with the executable's symbols: a data/bss root is named by the
// global that holds it ("main.registry", "main.registry+0x10") instead of
// "bss+0x1f8". Everything else, and every global no symbol covers, keeps
// Snapshot::root_name. The binary must have passed match_binary() (the CLI
// passes nullptr otherwise).
#pragma once

#include <string>

#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"

namespace heapwalk {

std::string root_name(const Snapshot& snapshot, const Root& root, const ElfSymbols* binary);

// The runtime address of a data/bss root's word, or 0 for other roots.
uint64_t root_address(const Snapshot& snapshot, const Root& root);

}  // namespace heapwalk
