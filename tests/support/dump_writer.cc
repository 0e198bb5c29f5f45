#include "support/dump_writer.h"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string_view>

#include "heapwalk/input.h"
#include "heapwalk/reader.h"

namespace heapwalk::test {
namespace {

constexpr std::string_view kHeader = "go1.7 heap dump\n";

class Writer {
 public:
  explicit Writer(const DumpParams& params) : params_(params) {
    out_.insert(out_.end(), kHeader.begin(), kHeader.end());
  }

  void uv(uint64_t v) { put_uvarint(out_, v); }
  void boolean(bool b) { uv(b ? 1 : 0); }
  void str(std::string_view s) {
    uv(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(const std::vector<uint8_t>& b) {
    uv(b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }

  // Contents of `size` bytes (at least) with every field's value stored in it.
  std::vector<uint8_t> memory(std::vector<uint8_t> base, uint64_t size,
                              const std::vector<PointerField>& fields) const {
    const uint64_t ps = params_.pointer_size;
    for (const auto& f : fields) size = std::max(size, f.offset + ps);
    size = std::max<uint64_t>(size, base.size());
    base.resize(size, 0);
    for (const auto& f : fields) {
      for (uint64_t i = 0; i < ps; ++i) {
        const uint64_t shift = 8 * (params_.big_endian ? ps - 1 - i : i);
        base[f.offset + i] = static_cast<uint8_t>(shift < 64 ? f.value >> shift : 0);
      }
    }
    return base;
  }

  void fieldlist(std::vector<PointerField> fields) {
    std::sort(fields.begin(), fields.end(),
              [](const PointerField& a, const PointerField& b) { return a.offset < b.offset; });
    for (const auto& f : fields) {
      uv(1);  // kind 1: pointer, the only kind any Go writes
      uv(f.offset);
    }
    uv(0);
  }

  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  const DumpParams& params_;
  std::vector<uint8_t> out_;
};

}  // namespace

DumpDescription::DumpDescription() {
  params.big_endian = false;
  params.pointer_size = 8;
  params.heap_start = 0xc000000000;
  params.heap_end = 0xc004000000;
  params.arch = "amd64";
  params.go_version = "go1.19.8";
  params.ncpu = 2;
}

void put_uvarint(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

std::vector<uint8_t> write_dump(const DumpDescription& d) {
  Writer w(d.params);
  // 6: params
  w.uv(6);
  w.boolean(d.params.big_endian);
  w.uv(d.params.pointer_size);
  w.uv(d.params.heap_start);
  w.uv(d.params.heap_end);
  w.str(d.params.arch);
  w.str(d.params.go_version);
  w.uv(d.params.ncpu);
  // 3: types, 8: itabs
  for (const auto& t : d.types) {
    w.uv(3);
    w.uv(t.address);
    w.uv(t.size);
    w.str(t.name);
    w.boolean(t.indirect);
  }
  for (const auto& i : d.itabs) {
    w.uv(8);
    w.uv(i.address);
    w.uv(i.type_address);
  }
  // 1: objects
  for (const auto& o : d.objects) {
    w.uv(1);
    w.uv(o.address);
    w.bytes(w.memory(o.contents, o.size, o.fields));
    w.fieldlist(o.fields);
  }
  // 4: goroutines, each followed by its 5: frames
  for (const auto& g : d.goroutines) {
    w.uv(4);
    w.uv(g.address);
    w.uv(g.sp);
    w.uv(g.goid);
    w.uv(g.go_pc);
    w.uv(g.status);
    w.boolean(g.system);
    w.boolean(g.background);
    w.uv(g.wait_since);
    w.str(g.wait_reason);
    w.uv(g.ctxt);
    w.uv(g.m);
    w.uv(g.defer_address);
    w.uv(g.panic_address);
    for (const auto& f : g.frames) {
      w.uv(5);
      w.uv(f.sp);
      w.uv(f.depth);
      w.uv(f.child_sp);
      w.bytes(w.memory({}, f.size, f.fields));
      w.uv(f.entry_pc);
      w.uv(f.pc);
      w.uv(f.continuation_pc);
      w.str(f.function);
      w.fieldlist(f.fields);
    }
  }
  // 14: defers, 15: panics, 2: other roots, 9: threads
  for (const auto& r : d.defers) {
    w.uv(14);
    for (uint64_t v : {r.address, r.goroutine, r.sp, r.pc, r.funcval, r.fn_pc, r.link}) w.uv(v);
  }
  for (const auto& p : d.panics) {
    w.uv(15);
    for (uint64_t v : {p.address, p.goroutine, p.arg_type, p.arg_data, p.defer_address, p.link})
      w.uv(v);
  }
  for (const auto& r : d.other_roots) {
    w.uv(2);
    w.str(r.description);
    w.uv(r.pointer);
  }
  for (const auto& t : d.threads) {
    w.uv(9);
    w.uv(t.m);
    w.uv(t.id);
    w.uv(t.os_id);
  }
  // 12: data, 13: bss
  for (bool bss : {false, true}) {
    for (const auto& s : d.segments) {
      if (s.bss != bss) continue;
      w.uv(bss ? 13 : 12);
      w.uv(s.start);
      w.bytes(w.memory({}, s.size, s.fields));
      w.fieldlist(s.fields);
    }
  }
  // 7: finalizers, 11: queued finalizers
  for (bool queued : {false, true}) {
    for (const auto& f : d.finalizers) {
      if (f.queued != queued) continue;
      w.uv(queued ? 11 : 7);
      for (uint64_t v : {f.object, f.funcval, f.fn_pc, f.arg_type, f.object_type}) w.uv(v);
    }
  }
  // 10: memstats
  if (d.memstats) {
    w.uv(10);
    for (uint64_t v : *d.memstats) w.uv(v);
  }
  // 16: buckets, 17: alloc samples
  for (const auto& b : d.buckets) {
    w.uv(16);
    w.uv(b.address);
    w.uv(b.size);
    w.uv(b.stack.size());
    for (const auto& e : b.stack) {
      w.str(e.function);
      w.str(e.file);
      w.uv(e.line);
    }
    w.uv(b.allocs);
    w.uv(b.frees);
  }
  for (const auto& s : d.alloc_samples) {
    w.uv(17);
    w.uv(s.object);
    w.uv(s.bucket);
  }
  if (d.write_eof) w.uv(0);
  return w.take();
}

DumpDescription random_graph_dump(uint64_t seed, const RandomGraphOptions& opt) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  DumpDescription d;
  static constexpr uint64_t kSizes[] = {8, 16, 24, 32, 48, 64, 96, 128, 256, 1024};

  // Lay out objects in address order with random gaps (gaps are "in no
  // object": freed slots, stacks), then shuffle the record order.
  std::vector<DumpObjectSpec> objects(opt.objects);
  std::vector<uint64_t> gaps;  // an address inside each gap, for dangling pointers
  uint64_t addr = d.params.heap_start + 0x1000;
  for (auto& o : objects) {
    if (chance(0.3)) {
      gaps.push_back(addr);
      addr += 8 * uniform(1, 8);
    }
    o.address = addr;
    o.size = kSizes[uniform(0, std::size(kSizes) - 1)];
    addr += o.size;
  }
  gaps.push_back(addr + 0x40);  // past the last object, still inside the heap range

  // A pointer value: nil, dangling, or into a random object (maybe interior).
  auto pointer_value = [&](int64_t self) -> uint64_t {
    if (chance(opt.nil_fraction)) return 0;
    if (chance(opt.dangling_fraction)) {
      switch (uniform(0, 2)) {
        case 0: return gaps[uniform(0, gaps.size() - 1)];
        case 1: return 0x5a0000 + 8 * uniform(0, 64);  // a global
        default: return d.params.heap_end + 8 * uniform(0, 64);
      }
    }
    const auto& target = (self >= 0 && chance(opt.self_fraction))
                             ? objects[static_cast<size_t>(self)]
                             : objects[uniform(0, objects.size() - 1)];
    uint64_t offset = chance(opt.interior_fraction) ? uniform(0, target.size - 1) : 0;
    return target.address + offset;
  };
  auto fields_for = [&](uint64_t size, uint32_t max_fields, int64_t self) {
    std::vector<PointerField> fields;
    const uint64_t words = size / 8;
    std::vector<uint64_t> offsets;
    for (uint64_t i = 0; i < words; ++i) offsets.push_back(8 * i);
    std::shuffle(offsets.begin(), offsets.end(), rng);
    const uint64_t n = std::min<uint64_t>(words, uniform(0, max_fields));
    for (uint64_t i = 0; i < n; ++i) fields.push_back({offsets[i], pointer_value(self)});
    return fields;
  };

  for (size_t i = 0; i < objects.size(); ++i) {
    objects[i].fields = fields_for(objects[i].size, opt.max_fields, static_cast<int64_t>(i));
  }

  // Root words.
  auto root_fields = [&](uint32_t n) {
    std::vector<PointerField> fields;
    for (uint32_t i = 0; i < n; ++i) fields.push_back({8 * uint64_t{i} * 2, pointer_value(-1)});
    return fields;
  };
  d.segments.push_back({false, 0x5a0000, 0, root_fields(opt.data_roots)});
  d.segments.push_back({true, 0x5b0000, 0, root_fields(opt.bss_roots)});
  uint64_t sp = 0xc000800000;
  for (uint32_t g = 0; g < opt.goroutines; ++g) {
    DumpGoroutineSpec gs;
    gs.address = 0xc000900000 + 0x200 * g;
    gs.goid = g + 1;
    gs.ctxt = chance(0.5) ? pointer_value(-1) : 0;
    gs.sp = sp;
    for (uint32_t f = 0; f < opt.frames_per_goroutine; ++f) {
      DumpFrameSpec fs;
      fs.sp = sp;
      fs.depth = f;
      fs.child_sp = f == 0 ? 0 : sp - 0x100;
      fs.function = "main.f" + std::to_string(f);
      fs.fields = root_fields(opt.frame_roots);
      fs.size = 0x100;
      gs.frames.push_back(fs);
      sp += 0x100;
    }
    sp += 0x1000;
    d.goroutines.push_back(gs);
  }
  for (uint32_t i = 0; i < opt.defers; ++i) {
    d.defers.push_back({pointer_value(-1), d.goroutines.empty() ? 0 : d.goroutines[0].address,
                        0xc000800010, 0x401234, pointer_value(-1), 0x401300, pointer_value(-1)});
  }
  for (uint32_t i = 0; i < opt.panics; ++i) {
    d.panics.push_back({pointer_value(-1), d.goroutines.empty() ? 0 : d.goroutines[0].address,
                        0x4a0000, pointer_value(-1), 0, pointer_value(-1)});
  }
  for (uint32_t i = 0; i < opt.other_roots; ++i) {
    d.other_roots.push_back({"other root " + std::to_string(i), pointer_value(-1)});
  }
  // Finalizers on distinct objects (Go allows one per object), sometimes at an
  // interior address; funcvals are closures in the heap or static funcs.
  std::vector<size_t> order(objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  size_t next = 0;
  auto add_finalizer = [&](bool queued) {
    if (next >= order.size()) return;
    const auto& o = objects[order[next++]];
    DumpFinalizerSpec f;
    f.object = o.address + (chance(0.2) ? uniform(0, o.size - 1) : 0);
    f.funcval = chance(0.5) ? pointer_value(-1) : 0x4c0000 + 8 * uniform(0, 16);
    f.queued = queued;
    d.finalizers.push_back(f);
  };
  for (uint32_t i = 0; i < opt.finalizers; ++i) add_finalizer(false);
  for (uint32_t i = 0; i < opt.queued_finalizers; ++i) add_finalizer(true);

  std::shuffle(objects.begin(), objects.end(), rng);
  d.objects = std::move(objects);
  return d;
}

RandomGraphOptions varied_random_options(uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 1);
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  RandomGraphOptions o;
  o.objects = pick(1, 90);
  o.max_fields = pick(0, 5);
  o.data_roots = pick(0, 3);
  o.bss_roots = pick(0, 3);
  o.goroutines = pick(0, 3);
  o.frames_per_goroutine = pick(1, 3);
  o.frame_roots = pick(0, 2);
  o.defers = pick(0, 2);
  o.panics = pick(0, 2);
  o.finalizers = pick(0, 20);
  o.queued_finalizers = pick(0, 2);
  o.other_roots = pick(0, 1);
  o.self_fraction = 0.15;
  return o;
}

Snapshot snapshot_of(const DumpDescription& dump, const std::string& name) {
  const std::vector<uint8_t> bytes = write_dump(dump);
  InputBuffer input = InputBuffer::from_bytes(name, bytes);
  DumpFacts facts = read_dump(input);
  return build_snapshot(std::move(input), std::move(facts));
}

uint64_t DumpBuilder::object(uint64_t size) {
  if (next_ == 0) next_ = d_.params.heap_start + 0x1000;
  const uint64_t align = size >= 16 ? 16 : 8;
  next_ = (next_ + align - 1) / align * align;
  DumpObjectSpec o;
  o.address = next_;
  o.size = size;
  next_ += size + 8;
  d_.objects.push_back(o);
  return o.address;
}

DumpObjectSpec& DumpBuilder::spec(uint64_t object) {
  for (auto& o : d_.objects) {
    if (o.address == object) return o;
  }
  throw std::logic_error("DumpBuilder: no object at that address");
}

void DumpBuilder::point(uint64_t object, uint64_t offset, uint64_t value) {
  spec(object).fields.push_back({offset, value});
}

void DumpBuilder::data_root(uint64_t value) {
  for (auto& s : d_.segments) {
    if (!s.bss) {
      s.fields.push_back({8 * s.fields.size(), value});
      return;
    }
  }
  d_.segments.push_back({false, 0x5a0000, 0, {{0, value}}});
}

void DumpBuilder::bss_root(uint64_t value) {
  for (auto& s : d_.segments) {
    if (s.bss) {
      s.fields.push_back({8 * s.fields.size(), value});
      return;
    }
  }
  d_.segments.push_back({true, 0x5b0000, 0, {{0, value}}});
}

DumpGoroutineSpec& DumpBuilder::goroutine() {
  if (d_.goroutines.empty()) {
    DumpGoroutineSpec g;
    g.address = 0xc000900000;
    g.sp = 0xc000800000;
    DumpFrameSpec f;
    f.sp = g.sp;
    f.size = 0x40;
    f.function = "main.main";
    g.frames.push_back(f);
    d_.goroutines.push_back(g);
  }
  return d_.goroutines.front();
}

void DumpBuilder::frame_root(uint64_t value) {
  auto& frame = goroutine().frames.front();
  frame.fields.push_back({8 * frame.fields.size(), value});
}

void DumpBuilder::context_root(uint64_t value) {
  if (!d_.goroutines.empty() && d_.goroutines.back().ctxt != 0) {
    DumpGoroutineSpec g;
    g.address = d_.goroutines.back().address + 0x200;
    g.goid = d_.goroutines.back().goid + 1;
    g.ctxt = value;
    d_.goroutines.push_back(g);
    return;
  }
  goroutine();
  d_.goroutines.back().ctxt = value;
}

void DumpBuilder::defer_record(uint64_t address, uint64_t funcval, uint64_t link) {
  d_.defers.push_back(
      {address, goroutine().address, 0xc000800000, 0x401100, funcval, 0x401200, link});
}

void DumpBuilder::panic_record(uint64_t address, uint64_t argument, uint64_t link) {
  d_.panics.push_back({address, goroutine().address, 0x4a0000, argument, 0, link});
}

void DumpBuilder::finalizer(uint64_t object, uint64_t funcval) {
  DumpFinalizerSpec f;
  f.object = object;
  f.funcval = funcval;
  d_.finalizers.push_back(f);
}

void DumpBuilder::queued_finalizer(uint64_t object, uint64_t funcval) {
  DumpFinalizerSpec f;
  f.object = object;
  f.funcval = funcval;
  f.queued = true;
  d_.finalizers.push_back(f);
}

void DumpBuilder::other_root(uint64_t value) { d_.other_roots.push_back({"other", value}); }

std::vector<uint8_t> DumpBuilder::bytes() const {
  DumpDescription d = d_;
  std::reverse(d.objects.begin(), d.objects.end());
  return write_dump(d);
}

Snapshot DumpBuilder::snapshot() const {
  const std::vector<uint8_t> b = bytes();
  InputBuffer input = InputBuffer::from_bytes("builder.heapdump", b);
  DumpFacts facts = read_dump(input);
  return build_snapshot(std::move(input), std::move(facts));
}

}  // namespace heapwalk::test
