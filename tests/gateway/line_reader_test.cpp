#include "gateway/line_reader.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace writ::gateway {
namespace {

std::vector<std::string> Drain(LineReader& reader) {
  std::vector<std::string> out;
  LineReader::Item item;
  while (reader.Next(&item)) {
    out.push_back(item.kind == LineReader::Kind::kLine ? std::string(item.text) : "<oversize " + std::to_string(item.size) + ">");
  }
  return out;
}

TEST(LineReaderTest, SplitsLinesAcrossFeeds) {
  LineReader reader(100);
  reader.Feed("{\"a\":");
  EXPECT_TRUE(Drain(reader).empty());
  reader.Feed("1}\n{\"b\":2}\r\n\n  \n{\"c\"");
  EXPECT_EQ(Drain(reader), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(reader.pending_bytes(), 4u);
  reader.Feed(":3}\n");
  EXPECT_EQ(Drain(reader), (std::vector<std::string>{"{\"c\":3}"}));
  EXPECT_EQ(reader.pending_bytes(), 0u);
}

TEST(LineReaderTest, OversizeLineIsDroppedWithSamplesAndTheNextLineSurvives) {
  LineReader reader(10);
  reader.Feed("{\"id\":42,");
  reader.Feed(std::string(1000, 'x'));
  LineReader::Item item;
  EXPECT_FALSE(reader.Next(&item));  // the rest of the line may still come
  reader.Feed("\"end\":1}\nok\n");
  ASSERT_TRUE(reader.Next(&item));
  EXPECT_EQ(item.kind, LineReader::Kind::kOversize);
  EXPECT_EQ(item.size, 9u + 1000u + 8u);
  EXPECT_EQ(item.head.substr(0, 9), "{\"id\":42,");
  EXPECT_EQ(item.tail.substr(item.tail.size() - 8), "\"end\":1}");
  ASSERT_TRUE(reader.Next(&item));
  EXPECT_EQ(item.text, "ok");
}

TEST(LineReaderTest, OversizeLineInOneFeed) {
  LineReader reader(4);
  reader.Feed("123456\nabc\n");
  EXPECT_EQ(Drain(reader), (std::vector<std::string>{"<oversize 6>", "abc"}));
}

}  // namespace
}  // namespace writ::gateway
