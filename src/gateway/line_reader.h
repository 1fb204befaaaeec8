// Splits a byte stream into newline-delimited messages (the MCP stdio framing), with a bound on
// the size of one message. Not thread-safe; one reader per stream.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace writ::gateway {

class LineReader {
 public:
  enum class Kind : uint8_t { kLine, kOversize };
  struct Item {
    Kind kind = Kind::kLine;
    std::string_view text;  // kLine: the line without its '\n' (and a trailing '\r'); valid until the next Feed/Next
    // kOversize: the first and last bytes of the dropped line (at most kSampleBytes each), so the
    // caller can find its JSON-RPC id.
    std::string head;
    std::string tail;
    size_t size = 0;  // bytes of the line
  };
  static constexpr size_t kSampleBytes = 256;

  explicit LineReader(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends bytes read from the stream.
  void Feed(std::string_view bytes);
  // The next complete line (or a dropped oversize one) into `item`; false when more bytes are needed.
  // Empty lines are skipped.
  bool Next(Item* item);
  // True when Next has a whole line (or the end of an oversize one) to give without another Feed.
  bool HasLine() const { return buffer_.find('\n', start_ + scanned_) != std::string::npos; }
  // Bytes of an unfinished line still buffered (when the stream ends, that line is incomplete).
  size_t pending_bytes() const { return buffer_.size() - start_ + (discarding_ ? discarded_ : 0); }

 private:
  size_t max_line_bytes_;
  std::string buffer_;
  size_t start_ = 0;         // first unconsumed byte of buffer_
  size_t scanned_ = 0;       // bytes after start_ already known to hold no '\n'
  bool discarding_ = false;  // inside an oversize line: drop until '\n'
  size_t discarded_ = 0;
  std::string head_;
  std::string tail_;
};

}  // namespace writ::gateway
