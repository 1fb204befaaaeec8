#include "ledger/index.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/json.h"

namespace writ::ledger {
namespace {

constexpr int kProbes = 7;  // filter hash functions: ~1 % false positives at 10 bits per key
constexpr uint64_t kBitsPerKey = 10;
constexpr uint64_t kMinFilterBits = 512;
constexpr size_t kBlocksPerRead = 256;
constexpr int64_t kMaxQueryLimit = 10000;

constexpr std::string_view kLeafHead = "{\"v\":1,\"id\":";

tl::unexpected<Error> Malformed(std::string_view what) {
  return Fail(Code::kDataLoss, fmt::format("event is malformed: {}", what));
}

// Reads the JSON string at leaf[pos] (its opening quote) and moves pos past it. Strings without
// escapes are returned as views into the leaf; others are decoded into `scratch`.
Result<std::string_view> ReadString(std::string_view leaf, size_t& pos, std::string& scratch) {
  if (pos >= leaf.size() || leaf[pos] != '"') return Malformed("a string member is not a string");
  const size_t start = pos + 1;
  // The common string has no backslash: two memchr calls find its end.
  const void* quote = std::memchr(leaf.data() + start, '"', leaf.size() - start);
  size_t at = quote == nullptr ? leaf.size() : static_cast<size_t>(static_cast<const char*>(quote) - leaf.data());
  const bool escaped = std::memchr(leaf.data() + start, '\\', at - start) != nullptr;
  if (escaped) {
    for (at = start; at < leaf.size(); ++at) {
      if (leaf[at] == '\\') {
        ++at;
      } else if (leaf[at] == '"') {
        break;
      }
    }
  }
  if (at >= leaf.size()) return Malformed("a string is not closed");
  pos = at + 1;
  if (!escaped) return leaf.substr(start, at - start);
  std::string array = "[";
  array.append(leaf.substr(start - 1, at - start + 2));
  array += ']';
  auto parsed = json::Parse(array);
  if (!parsed || !parsed->is_array() || parsed->as_array().size() != 1 || !parsed->as_array()[0].is_string()) {
    return Malformed("a string has a bad escape");
  }
  scratch = parsed->as_array()[0].as_string();
  return std::string_view(scratch);
}

bool Expect(std::string_view leaf, size_t& pos, std::string_view text) {
  if (leaf.substr(pos, text.size()) != text) return false;
  pos += text.size();
  return true;
}

// Reads a decimal integer (optionally negative) at pos.
std::optional<int64_t> ReadInt(std::string_view leaf, size_t& pos) {
  bool negative = pos < leaf.size() && leaf[pos] == '-';
  if (negative) ++pos;
  uint64_t value = 0;
  size_t digits = 0;
  while (pos < leaf.size() && leaf[pos] >= '0' && leaf[pos] <= '9' && digits < 19) {
    value = value * 10 + static_cast<uint64_t>(leaf[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
}

uint32_t ReadLittle32(const char* bytes) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes[i]);
  return value;
}

uint64_t Finalize(uint64_t value) {  // a splitmix64-style finaliser
  value ^= value >> 31;
  value *= 0x7fb5d329728ea185ULL;
  value ^= value >> 27;
  value *= 0x81dadef4bc2dd44dULL;
  return value ^ (value >> 33);
}

// The filter's probe step for a key: odd, so probes never repeat within a power-of-two filter.
uint64_t Mix(uint64_t key) { return Finalize(key) | 1; }

}  // namespace

uint64_t KeyHash(KeyTag tag, std::string_view value) {
  // 8 bytes per step (little-endian words, the last one zero-padded), multiply-xorshift mixing:
  // several times faster than a byte-wise hash on the ~40-byte ids, subjects and correlation ids.
  constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ULL;
  uint64_t hash = (static_cast<uint64_t>(static_cast<unsigned char>(tag)) << 56) ^ (value.size() * kMultiplier);
  size_t at = 0;
  for (;;) {
    uint64_t word = 0;
    const size_t take = std::min<size_t>(8, value.size() - at);
    if (take == 8 && std::endian::native == std::endian::little) {
      std::memcpy(&word, value.data() + at, 8);  // the same little-endian word, in one load
    } else {
      for (size_t i = 0; i < take; ++i)
        word |= static_cast<uint64_t>(static_cast<unsigned char>(value[at + i])) << (8 * i);
    }
    hash = (hash ^ word) * kMultiplier;
    hash ^= hash >> 29;
    at += take;
    if (at >= value.size()) break;
  }
  return Finalize(hash);
}

bool FilterMayContain(std::string_view filter, uint64_t key_hash) {
  const uint64_t bits = uint64_t{filter.size()} * 8;
  if (bits == 0 || !std::has_single_bit(bits)) return true;  // malformed: never hide events
  const uint64_t step = Mix(key_hash);
  uint64_t probe = key_hash;
  for (int i = 0; i < kProbes; ++i, probe += step) {
    const uint64_t bit = probe & (bits - 1);
    if ((static_cast<unsigned char>(filter[bit >> 3]) & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

Result<LeafFields> ReadLeafFields(std::string_view leaf, LeafScratch& scratch) {
  LeafFields fields;
  size_t pos = 0;
  if (!Expect(leaf, pos, kLeafHead)) return Malformed("it does not start with the format version and id");
  WRIT_ASSIGN_OR_RETURN(fields.id, ReadString(leaf, pos, scratch.id));
  if (!Expect(leaf, pos, ",\"time\":")) return Malformed("time is missing");
  auto time = ReadInt(leaf, pos);
  if (!time) return Malformed("time is not a number");
  fields.time_ms = *time;
  if (!Expect(leaf, pos, ",\"kind\":")) return Malformed("kind is missing");
  std::string kind_scratch;
  WRIT_ASSIGN_OR_RETURN(std::string_view kind_name, ReadString(leaf, pos, kind_scratch));
  auto kind = ParseEventKind(kind_name);
  if (!kind) return Malformed(kind.error().message);
  fields.kind = *kind;
  // Everything before the first `,"details":` and the last `,"seq":` is a top-level member: a
  // structural quote cannot appear inside a string, and details is the last member before seq. So
  // every `,"` before that limit starts a member (or a policies array element): one walk over the
  // commas finds the first subject and correlation id, where three searches used to scan.
  const size_t seq_at = leaf.rfind(",\"seq\":");
  const size_t limit = seq_at == std::string_view::npos ? leaf.size() : seq_at;
  static constexpr std::string_view kSubject = "\"subject\":";
  static constexpr std::string_view kCorrelation = "\"correlation_id\":";
  static constexpr std::string_view kDetails = "\"details\":";
  size_t subject_at = std::string_view::npos;
  size_t correlation_at = std::string_view::npos;
  for (size_t at = pos; at < limit;) {
    const void* comma = std::memchr(leaf.data() + at, ',', limit - at);
    if (comma == nullptr) break;
    at = static_cast<size_t>(static_cast<const char*>(comma) - leaf.data()) + 1;
    if (at >= limit || leaf[at] != '"') continue;
    const std::string_view rest = leaf.substr(at);
    if (rest.starts_with(kDetails)) break;
    if (subject_at == std::string_view::npos && rest.starts_with(kSubject)) {
      subject_at = at + kSubject.size();
    } else if (correlation_at == std::string_view::npos && rest.starts_with(kCorrelation)) {
      correlation_at = at + kCorrelation.size();
    }
  }
  if (subject_at != std::string_view::npos) {
    WRIT_ASSIGN_OR_RETURN(fields.subject, ReadString(leaf, subject_at, scratch.subject));
  }
  if (correlation_at != std::string_view::npos) {
    WRIT_ASSIGN_OR_RETURN(fields.correlation_id, ReadString(leaf, correlation_at, scratch.correlation_id));
  }
  if (seq_at != std::string_view::npos) {
    size_t at = seq_at + 7;
    auto seq = ReadInt(leaf, at);
    if (seq && *seq >= 0) {
      fields.seq = static_cast<uint64_t>(*seq);
      fields.has_seq = true;
    }
  }
  return fields;
}

namespace {
uint64_t FilterBits(size_t distinct_keys) {
  return std::bit_ceil(std::max<uint64_t>(kMinFilterBits, uint64_t{distinct_keys} * kBitsPerKey));
}
constexpr size_t kMinSlots = 256;
}  // namespace

void BlockBuilder::Reset(uint64_t block) {
  block_ = block;
  events_ = 0;
  min_time_ms_ = 0;
  max_time_ms_ = 0;
  kinds_ = 0;
  distinct_.clear();
  if (slots_.size() < kMinSlots) slots_.resize(kMinSlots);
  std::fill(slots_.begin(), slots_.end(), 0);
  has_zero_ = false;
  filter_.assign(FilterBits(0) / 8, '\0');
  filter_insertions_ = 0;
}

IndexKeys KeysOf(std::string_view subject, std::string_view correlation_id, std::string_view id) {
  IndexKeys keys;
  if (!subject.empty()) keys.hashes[keys.count++] = KeyHash(KeyTag::kSubject, subject);
  if (!correlation_id.empty()) keys.hashes[keys.count++] = KeyHash(KeyTag::kCorrelation, correlation_id);
  keys.hashes[keys.count++] = KeyHash(KeyTag::kId, id);
  return keys;
}

void BlockBuilder::Add(int64_t time_ms, EventKind kind, const IndexKeys& keys) {
  if (filter_.empty()) Reset(block_);  // a builder used without Reset
  min_time_ms_ = events_ == 0 ? time_ms : std::min(min_time_ms_, time_ms);
  max_time_ms_ = events_ == 0 ? time_ms : std::max(max_time_ms_, time_ms);
  ++events_;
  kinds_ |= uint64_t{1} << (static_cast<unsigned>(kind) & 63);
  for (size_t i = 0; i < keys.count; ++i) {
    const uint64_t key = keys.hashes[i];
    if (!InsertDistinct(key)) continue;
    const uint64_t bits = FilterBits(distinct_.size());
    if (bits != uint64_t{filter_.size()} * 8) {
      Rebuild(bits);  // the filter grew: every key's bit positions change
    } else {
      SetBits(key);
    }
  }
}

bool BlockBuilder::InsertDistinct(uint64_t key) {
  if (key == 0) {
    if (has_zero_) return false;
    has_zero_ = true;
    distinct_.push_back(key);
    return true;
  }
  // Keys are finalised hashes: their low bits index the table directly.
  size_t mask = slots_.size() - 1;
  for (size_t at = key & mask;; at = (at + 1) & mask) {
    if (slots_[at] == key) return false;
    if (slots_[at] == 0) {
      slots_[at] = key;
      break;
    }
  }
  distinct_.push_back(key);
  if (distinct_.size() * 2 > slots_.size()) {  // keep the table at most half full
    std::vector<uint64_t> grown(slots_.size() * 2, 0);
    mask = grown.size() - 1;
    for (uint64_t held : distinct_) {
      if (held == 0) continue;
      size_t at = held & mask;
      while (grown[at] != 0) at = (at + 1) & mask;
      grown[at] = held;
    }
    slots_.swap(grown);
  }
  return true;
}

void BlockBuilder::SetBits(uint64_t key) {
  const uint64_t bits = uint64_t{filter_.size()} * 8;
  const uint64_t step = Mix(key);
  uint64_t probe = key;
  for (int i = 0; i < kProbes; ++i, probe += step) {
    const uint64_t bit = probe & (bits - 1);
    filter_[bit >> 3] = static_cast<char>(static_cast<unsigned char>(filter_[bit >> 3]) | (1u << (bit & 7)));
  }
  ++filter_insertions_;
}

void BlockBuilder::Rebuild(uint64_t bits) {
  filter_.assign(bits / 8, '\0');
  for (uint64_t key : distinct_) SetBits(key);
}

store::LedgerBlockRow BlockBuilder::Row() const {
  return store::LedgerBlockRow{block_, min_time_ms_, max_time_ms_, kinds_,
                               filter_.empty() ? std::string(FilterBits(0) / 8, '\0') : filter_};
}

Status CheckSegment(const store::LedgerSegment& segment) {
  auto bad = [&](std::string_view what) {
    return Fail(Code::kDataLoss, fmt::format("segment of events [{}, {}) is malformed: {}", segment.first,
                                             segment.first + segment.count, what));
  };
  if (segment.count == 0) return bad("it holds no events");
  if (segment.hashes.size() != segment.count * 32) return bad("its leaf hashes do not match its count");
  if (segment.ends.size() != (segment.count - 1) * 4) return bad("its offsets do not match its count");
  uint32_t previous = 0;
  for (uint64_t i = 0; i + 1 < segment.count; ++i) {
    const uint32_t end = ReadLittle32(segment.ends.data() + i * 4);
    if (end < previous || end > segment.data.size()) return bad("its offsets are out of order");
    previous = end;
  }
  return Ok();
}

namespace {
uint64_t EndOf(const store::LedgerSegment& segment, uint64_t i) {
  if (i + 1 >= segment.count) return segment.data.size();
  return ReadLittle32(segment.ends.data() + i * 4);
}
}  // namespace

std::string_view SegmentLeaf(const store::LedgerSegment& segment, uint64_t i) {
  const uint64_t begin = i == 0 ? 0 : EndOf(segment, i - 1);
  return std::string_view(segment.data).substr(begin, EndOf(segment, i) - begin);
}

std::string_view SegmentHash(const store::LedgerSegment& segment, uint64_t i) {
  return std::string_view(segment.hashes).substr(i * 32, 32);
}

Status ForEachEvent(store::LedgerStore& store, uint64_t begin, uint64_t end,
                    const std::function<Result<bool>(uint64_t, std::string_view)>& visit) {
  store::LedgerSegment segment;
  uint64_t next = begin;
  while (next < end) {
    WRIT_ASSIGN_OR_RETURN(bool found, store.ReadSegment(next, /*containing=*/true, segment));
    if (!found) return Fail(Code::kDataLoss, fmt::format("ledger event {} is missing", next));
    WRIT_RETURN_IF_ERROR(CheckSegment(segment));
    for (uint64_t index = next; index < end && index < segment.first + segment.count; ++index) {
      WRIT_ASSIGN_OR_RETURN(bool more, visit(index, SegmentLeaf(segment, index - segment.first)));
      if (!more) return Ok();
    }
    next = segment.first + segment.count;
  }
  return Ok();
}

namespace {

// Visits, in order, the index rows of the blocks that may hold events >= `from` below `size`: the
// stored rows of full blocks, then `open_block` (or a row that rules nothing out) for a block that
// is not full.
Status ForEachBlock(store::LedgerStore& store, uint64_t from, uint64_t size,
                    const std::optional<store::LedgerBlockRow>& open_block,
                    const std::function<Result<bool>(const store::LedgerBlockRow&)>& visit) {
  const uint64_t full_blocks = size / kBlockEvents;
  uint64_t next = from / kBlockEvents;
  while (next < full_blocks) {
    WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerBlockRow> rows, store.Blocks(next, kBlocksPerRead));
    for (const store::LedgerBlockRow& row : rows) {
      if (row.block >= full_blocks) break;
      WRIT_ASSIGN_OR_RETURN(bool more, visit(row));
      if (!more) return Ok();
    }
    if (rows.size() < kBlocksPerRead || rows.back().block >= full_blocks) break;
    next = rows.back().block + 1;
  }
  if (size % kBlockEvents == 0 || from >= size) return Ok();
  // Without the open block's row, one that rules nothing out: an empty filter (FilterMayContain), all
  // kinds, all times.
  const store::LedgerBlockRow everything{full_blocks, std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max(), ~uint64_t{0}, std::string()};
  WRIT_RETURN_IF_ERROR(visit(open_block && open_block->block == full_blocks ? *open_block : everything));
  return Ok();
}

}  // namespace

Result<std::vector<StoredEvent>> QueryEvents(store::LedgerStore& store, const EventQuery& query, uint64_t size,
                                             const std::optional<store::LedgerBlockRow>& open_block) {
  const auto limit = static_cast<size_t>(std::clamp<int64_t>(query.limit, 0, kMaxQueryLimit));
  std::vector<StoredEvent> events;
  if (limit == 0) return events;
  const std::optional<int64_t> from = query.from ? std::optional<int64_t>(ToUnixMillis(*query.from)) : std::nullopt;
  const std::optional<int64_t> to = query.to ? std::optional<int64_t>(ToUnixMillis(*query.to)) : std::nullopt;
  const uint64_t subject_key = query.subject ? KeyHash(KeyTag::kSubject, *query.subject) : 0;
  const uint64_t correlation_key = query.correlation_id ? KeyHash(KeyTag::kCorrelation, *query.correlation_id) : 0;
  LeafScratch scratch;
  auto matches = [&](const LeafFields& fields) {
    return (!query.subject || fields.subject == *query.subject) && (!query.kind || fields.kind == *query.kind) &&
           (!query.correlation_id || fields.correlation_id == *query.correlation_id) &&
           (!from || fields.time_ms >= *from) && (!to || fields.time_ms < *to);
  };
  auto visit_event = [&](uint64_t index, std::string_view leaf) -> Result<bool> {
    WRIT_ASSIGN_OR_RETURN(LeafFields fields, ReadLeafFields(leaf, scratch));
    if (!matches(fields)) return true;
    WRIT_ASSIGN_OR_RETURN(DecodedEvent decoded, DecodeLeaf(leaf));
    events.push_back(StoredEvent{index, std::move(decoded.event)});
    return events.size() < limit;
  };
  auto visit_block = [&](const store::LedgerBlockRow& row) -> Result<bool> {
    if ((from && row.max_time_ms < *from) || (to && row.min_time_ms >= *to)) return true;
    if (query.kind && (row.kinds & (uint64_t{1} << static_cast<unsigned>(*query.kind))) == 0) return true;
    if (query.subject && !FilterMayContain(row.keys, subject_key)) return true;
    if (query.correlation_id && !FilterMayContain(row.keys, correlation_key)) return true;
    const uint64_t begin = std::max(query.after_index, row.block * kBlockEvents);
    const uint64_t end = std::min(size, (row.block + 1) * kBlockEvents);
    WRIT_RETURN_IF_ERROR(ForEachEvent(store, begin, end, visit_event));
    return events.size() < limit;
  };
  WRIT_RETURN_IF_ERROR(ForEachBlock(store, query.after_index, size, open_block, visit_block));
  return events;
}

Result<std::optional<uint64_t>> FindEventById(store::LedgerStore& store, const std::string& id, uint64_t size,
                                              const std::optional<store::LedgerBlockRow>& open_block) {
  const uint64_t key = KeyHash(KeyTag::kId, id);
  // A UUIDv7 carries its millisecond: the ledger gives events it names that same time, so the block
  // whose time range holds it is tried first; then every block whose filter may hold the id.
  std::optional<int64_t> millis;
  if (IsUuid(id) && id[14] == '7') {
    std::string hex = id.substr(0, 8) + id.substr(9, 4);
    millis = static_cast<int64_t>(std::stoull(hex, nullptr, 16));
  }
  std::optional<uint64_t> found;
  LeafScratch scratch;
  auto visit_event = [&](uint64_t index, std::string_view leaf) -> Result<bool> {
    WRIT_ASSIGN_OR_RETURN(LeafFields fields, ReadLeafFields(leaf, scratch));
    if (fields.id != id) return true;
    found = index;
    return false;
  };
  int pass = millis ? 0 : 1;
  auto visit_block = [&](const store::LedgerBlockRow& row) -> Result<bool> {
    const bool in_time = millis && row.min_time_ms <= *millis && *millis <= row.max_time_ms;
    if ((pass == 0) != in_time || !FilterMayContain(row.keys, key)) return true;
    const uint64_t end = std::min(size, (row.block + 1) * kBlockEvents);
    WRIT_RETURN_IF_ERROR(ForEachEvent(store, row.block * kBlockEvents, end, visit_event));
    return !found;
  };
  for (; pass < 2 && !found; ++pass) WRIT_RETURN_IF_ERROR(ForEachBlock(store, 0, size, open_block, visit_block));
  return found;
}

Status RebuildIndex(store::LedgerStore& store, uint64_t size) {
  std::vector<store::LedgerBlockRow> blocks;
  std::vector<store::LedgerLeafChunk> leaves;
  BlockBuilder builder;
  builder.Reset(0);
  LeafScratch scratch;
  store::LedgerSegment segment;
  for (uint64_t next = 0; next < size;) {
    WRIT_ASSIGN_OR_RETURN(bool found, store.ReadSegment(next, /*containing=*/true, segment));
    if (!found) return Fail(Code::kDataLoss, fmt::format("ledger event {} is missing", next));
    WRIT_RETURN_IF_ERROR(CheckSegment(segment));
    for (uint64_t index = next; index < size && index < segment.first + segment.count; ++index) {
      const uint64_t i = index - segment.first;
      if (index / kBlockEvents != builder.block()) {
        blocks.push_back(builder.Row());
        builder.Reset(index / kBlockEvents);
      }
      WRIT_ASSIGN_OR_RETURN(LeafFields fields, ReadLeafFields(SegmentLeaf(segment, i), scratch));
      builder.Add(fields);
      if (index % store::kLedgerLeafChunk == 0) leaves.push_back({index / store::kLedgerLeafChunk, ""});
      leaves.back().hashes.append(SegmentHash(segment, i));
    }
    next = segment.first + segment.count;
  }
  if (size % kBlockEvents == 0 && !builder.empty()) blocks.push_back(builder.Row());  // the last block is full
  return store.Append({.segments = {}, .nodes = {}, .blocks = blocks, .leaves = leaves});
}

}  // namespace writ::ledger
