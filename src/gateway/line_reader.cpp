#include "gateway/line_reader.h"

#include <algorithm>

namespace writ::gateway {

void LineReader::Feed(std::string_view bytes) {
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
    scanned_ = 0;
  } else if (start_ > (1 << 16) && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

bool LineReader::Next(Item* item) {
  while (start_ < buffer_.size()) {
    const size_t search_from = start_ + scanned_;
    const size_t newline = buffer_.find('\n', search_from);
    if (discarding_) {
      const size_t end = newline == std::string::npos ? buffer_.size() : newline;
      const std::string_view chunk(buffer_.data() + start_, end - start_);
      discarded_ += chunk.size();
      tail_.append(chunk);
      if (tail_.size() > kSampleBytes) tail_.erase(0, tail_.size() - kSampleBytes);
      start_ = newline == std::string::npos ? buffer_.size() : newline + 1;
      scanned_ = 0;
      if (newline == std::string::npos) return false;
      discarding_ = false;
      item->kind = Kind::kOversize;
      item->text = {};
      item->head = std::move(head_);
      item->tail = std::move(tail_);
      item->size = discarded_;
      head_.clear();
      tail_.clear();
      discarded_ = 0;
      return true;
    }
    if (newline == std::string::npos) {
      scanned_ = buffer_.size() - start_;
      if (scanned_ > max_line_bytes_) {
        // Too long already: keep a sample and drop the rest of this line as it arrives.
        discarding_ = true;
        const std::string_view line(buffer_.data() + start_, scanned_);
        head_.assign(line.substr(0, kSampleBytes));
        tail_.assign(line.substr(line.size() - std::min(line.size(), kSampleBytes)));
        discarded_ = line.size();
        start_ = buffer_.size();
        scanned_ = 0;
        continue;
      }
      return false;
    }
    std::string_view line(buffer_.data() + start_, newline - start_);
    start_ = newline + 1;
    scanned_ = 0;
    if (line.size() > max_line_bytes_) {
      item->kind = Kind::kOversize;
      item->text = {};
      item->head.assign(line.substr(0, kSampleBytes));
      item->tail.assign(line.substr(line.size() - std::min(line.size(), kSampleBytes)));
      item->size = line.size();
      return true;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    item->kind = Kind::kLine;
    item->text = line;
    item->size = line.size();
    return true;
  }
  return false;
}

}  // namespace writ::gateway
