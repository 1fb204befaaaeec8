// The block query index: its Bloom filter must be exactly the documented one (docs/ledger_format.md
// §4) whatever the order of commits, and keeping it up to date must not rebuild it per commit.
#include <algorithm>
#include <bit>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "ledger/index.h"
#include "testing/matchers.h"

namespace writ::ledger {
namespace {

// The filter as docs/ledger_format.md §4 defines it, built from scratch: an independent
// implementation of the persisted format.
uint64_t DocFinalize(uint64_t value) {
  value ^= value >> 31;
  value *= 0x7fb5d329728ea185ULL;
  value ^= value >> 27;
  value *= 0x81dadef4bc2dd44dULL;
  return value ^ (value >> 33);
}

std::string ReferenceFilter(const std::set<uint64_t>& keys) {
  const uint64_t bits = std::bit_ceil(std::max<uint64_t>(512, keys.size() * 10));
  std::string filter(bits / 8, '\0');
  for (uint64_t key : keys) {
    const uint64_t step = DocFinalize(key) | 1;
    uint64_t probe = key;
    for (int i = 0; i < 7; ++i, probe += step) {
      const uint64_t bit = probe & (bits - 1);
      filter[bit >> 3] = static_cast<char>(static_cast<unsigned char>(filter[bit >> 3]) | (1u << (bit & 7)));
    }
  }
  return filter;
}

std::string Id(int n) { return "0190c6a2-0000-7000-8000-" + std::to_string(100000000000 + n); }

// Key hashes are persisted in every stored filter: these values, computed from the description in
// docs/ledger_format.md §4 by an independent (Python) implementation, must never change. Lengths
// cover whole 8-byte words, a partial last word and the empty value.
TEST(KeyHashTest, ValuesAreTheDocumentedOnes) {
  EXPECT_EQ(KeyHash(KeyTag::kId, "0190c6a2-0000-7000-8000-100000000042"), 0x3734ec48d96e367dULL);
  EXPECT_EQ(KeyHash(KeyTag::kSubject, "spiffe://writ.test/agent/bot-1"), 0x56fd168ea5ab05f2ULL);
  EXPECT_EQ(KeyHash(KeyTag::kCorrelation, "corr-7"), 0xe80172d9952f0196ULL);
  EXPECT_EQ(KeyHash(KeyTag::kId, ""), 0x72452a0c561917b3ULL);
}

TEST(BlockBuilderTest, RowAfterEveryEventIsTheDocumentedFilterOfTheEventsSoFar) {
  BlockBuilder builder;
  builder.Reset(3);
  std::set<uint64_t> keys;
  int64_t min_time = 0, max_time = 0;
  for (int n = 0; n < 1500; ++n) {
    // Subjects and correlation ids repeat (duplicate keys), ids do not; some events have neither.
    const std::string subject = n % 4 == 0 ? "" : "spiffe://writ.test/agent/bot-" + std::to_string(n % 9);
    const std::string correlation = n % 3 == 0 ? "" : "corr-" + std::to_string(n / 5);
    const IndexKeys event_keys = KeysOf(subject, correlation, Id(n));
    for (size_t i = 0; i < event_keys.count; ++i) keys.insert(event_keys.hashes[i]);
    const int64_t time = 1000 + (n * 37) % 101;
    min_time = n == 0 ? time : std::min(min_time, time);
    max_time = n == 0 ? time : std::max(max_time, time);
    builder.Add(time, n % 2 == 0 ? EventKind::kDecision : EventKind::kAlert, event_keys);
    if (n % 7 == 0 || n < 80 || n == 1499) {  // rows at arbitrary commit points, across size steps
      const store::LedgerBlockRow row = builder.Row();
      ASSERT_EQ(row.keys, ReferenceFilter(keys)) << "after event " << n;
      EXPECT_EQ(row.block, 3u);
      EXPECT_EQ(row.min_time_ms, min_time);
      EXPECT_EQ(row.max_time_ms, max_time);
      EXPECT_EQ(row.kinds, (uint64_t{1} << 1) | (n > 0 ? uint64_t{1} << 9 : 0));
    }
  }
  builder.Reset(4);
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.Row().keys, ReferenceFilter({}));
}

TEST(BlockBuilderTest, OneEventCommitsDoNotRebuildTheFilter) {
  // A block written one event per commit (a trickle of tool calls): each commit's row must cost
  // the new keys, not the whole block's. The filter is rebuilt only when it doubles (log2 times),
  // so the keys hashed into it stay within 3x the distinct keys (each key once, plus rebuilds of
  // geometrically growing sizes); rebuilding it per row would hash ~12 million.
  BlockBuilder builder;
  builder.Reset(0);
  std::set<uint64_t> distinct;
  for (int n = 0; n < static_cast<int>(kBlockEvents); ++n) {
    const IndexKeys keys = KeysOf("subject-" + std::to_string(n % 50), "corr-" + std::to_string(n), Id(n));
    for (size_t i = 0; i < keys.count; ++i) distinct.insert(keys.hashes[i]);
    builder.Add(n, EventKind::kDecision, keys);
    (void)builder.Row();
  }
  EXPECT_EQ(distinct.size(), 50 + 2 * kBlockEvents);
  EXPECT_LE(builder.filter_insertions(), 3 * distinct.size());
}

TEST(BlockBuilderTest, FilterHasNoFalseNegativesAndFewFalsePositives) {
  BlockBuilder builder;
  builder.Reset(0);
  for (int n = 0; n < 4096; ++n) builder.Add(0, EventKind::kDecision, KeysOf("", "", Id(n)));
  const std::string filter = builder.Row().keys;
  for (int n = 0; n < 4096; ++n) ASSERT_TRUE(FilterMayContain(filter, KeyHash(KeyTag::kId, Id(n))));
  int false_positives = 0;
  for (int n = 4096; n < 14096; ++n) false_positives += FilterMayContain(filter, KeyHash(KeyTag::kId, Id(n))) ? 1 : 0;
  EXPECT_LT(false_positives, 300);  // ~1 % expected
}

// ReadLeafFields reads the leaves the ledger writes with one walk over their commas; it must give
// what a full JSON parse gives, escapes, look-alike text inside values and absent members included.
TEST(LeafFieldsTest, CommaWalkAgreesWithAFullParse) {
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "spiffe://writ.test/agent/bot-1",
                                          "q\"uote",
                                          "back\\slash",
                                          "ends with \\",
                                          ",\"subject\":\"fake\"",
                                          "\xc3\xa9t\xc3\xa9",
                                          "\n\t",
                                          "]",
                                          "[\"x\"]"};
  int n = 0;
  for (const std::string& subject : texts) {
    for (const std::string& other : texts) {
      Event event;
      event.id = "0190c6a2-0000-7000-8000-" + std::to_string(100000000000 + n);
      event.time = FromUnixMillis(1'700'000'000'000 + n);
      event.kind = static_cast<EventKind>(1 + n % 14);
      event.actor = other;
      event.subject = subject;
      event.action = other;
      event.resource = subject;
      event.decision = static_cast<Decision>(n % 4);
      if (n % 2 == 0) event.policy_ids = {other, subject, "p"};
      event.policy_set_version = other;
      event.correlation_id = n % 3 == 0 ? std::string() : other + subject;
      event.trace_id = subject;
      if (n % 5 != 0) event.details.Set("subject", other);
      const std::string leaf =
          EncodeLeaf(EncodeEventBody(event, {}).value(), static_cast<uint64_t>(n), std::string(32, 'p'));
      const DecodedEvent decoded = DecodeLeaf(leaf).value();
      LeafScratch scratch;
      auto fields = ReadLeafFields(leaf, scratch);
      ASSERT_THAT(fields, IsOk());
      EXPECT_EQ(fields->id, decoded.event.id);
      EXPECT_EQ(fields->time_ms, ToUnixMillis(decoded.event.time));
      EXPECT_EQ(fields->kind, decoded.event.kind);
      EXPECT_EQ(fields->subject, decoded.event.subject) << leaf;
      EXPECT_EQ(fields->correlation_id, decoded.event.correlation_id) << leaf;
      EXPECT_TRUE(fields->has_seq);
      EXPECT_EQ(fields->seq, decoded.seq);
      ++n;
    }
  }
}

TEST(LeafFieldsTest, LeavesNotShapedAsTheLedgerWritesThemAreReadByName) {
  // Members out of order or unknown (a leaf written by hand or by another version): found by name
  // among the top-level members before details; nothing inside details counts.
  LeafScratch scratch;
  const std::string head = "{\"v\":1,\"id\":\"a\",\"time\":5,\"kind\":\"alert\"";
  const std::string tail = ",\"seq\":3,\"prev\":\"x\"}";
  // The fields are views into the leaf: each leaf outlives them.
  const std::string reordered_leaf = head + ",\"correlation_id\":\"c\",\"subject\":\"s\"" + tail;
  auto reordered = ReadLeafFields(reordered_leaf, scratch);
  ASSERT_THAT(reordered, IsOk());
  EXPECT_EQ(reordered->subject, "s");
  EXPECT_EQ(reordered->correlation_id, "c");
  const std::string unknown_leaf = head + ",\"extra\":{\"subject\":\"no\"},\"subject\":\"s\"" + tail;
  auto unknown = ReadLeafFields(unknown_leaf, scratch);
  ASSERT_THAT(unknown, IsOk());
  EXPECT_EQ(unknown->subject, "s");
  const std::string in_details_leaf = head + ",\"details\":{\"subject\":\"no\"}" + tail;
  auto in_details = ReadLeafFields(in_details_leaf, scratch);
  ASSERT_THAT(in_details, IsOk());
  EXPECT_EQ(in_details->subject, "");
  EXPECT_EQ(in_details->seq, 3u);
  EXPECT_THAT(ReadLeafFields(head + ",\"subject\":\"unterminated", scratch), FailsWith(Code::kDataLoss));
  EXPECT_THAT(ReadLeafFields("{\"v\":2}", scratch), FailsWith(Code::kDataLoss));
}

}  // namespace
}  // namespace writ::ledger
