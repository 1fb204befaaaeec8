// String parsers of the extension constructors, following the reference's accepted grammar.
#include <charconv>
#include <cstring>

#include "cedar/internal/ext.h"
#include "common/encoding.h"

namespace writ::cedar::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

tl::unexpected<std::string> Err(std::string m) { return tl::unexpected<std::string>(std::move(m)); }

// Rust-style IPv4: four decimal octets, no leading zeros, each <= 255.
bool ParseV4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && IsDigit(s[i]) && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    out[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// IPv6 with `::` compression and an optional trailing dotted IPv4.
bool ParseV6(std::string_view s, uint8_t* out) {
  uint16_t head[8];
  uint16_t tail[8];
  int nhead = 0;
  int ntail = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  bool need_group = !compressed;
  while (i < s.size()) {
    int total = nhead + ntail;
    // Embedded IPv4 at the end.
    size_t next_colon = s.find(':', i);
    std::string_view rest = s.substr(i, next_colon == std::string_view::npos ? s.size() - i : next_colon - i);
    if (next_colon == std::string_view::npos && rest.find('.') != std::string_view::npos) {
      if (total + 2 > 8) return false;
      uint8_t v4[4];
      if (!ParseV4(rest, v4)) return false;
      uint16_t a = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
      uint16_t b = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
      if (compressed) { tail[ntail++] = a; tail[ntail++] = b; } else { head[nhead++] = a; head[nhead++] = b; }
      i = s.size();
      need_group = false;
      break;
    }
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && HexDigitValue(s[i]) >= 0 && i - start < 4) {
      value = value * 16 + static_cast<unsigned>(HexDigitValue(s[i]));
      ++i;
    }
    if (i == start) return false;
    if (total >= 8) return false;
    if (compressed) tail[ntail++] = static_cast<uint16_t>(value); else head[nhead++] = static_cast<uint16_t>(value);
    need_group = false;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else {
      need_group = true;
    }
  }
  if (need_group) return false;
  int total = nhead + ntail;
  if (compressed ? total > 7 : total != 8) return false;
  uint16_t groups[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int k = 0; k < nhead; ++k) groups[k] = head[k];
  for (int k = 0; k < ntail; ++k) groups[8 - ntail + k] = tail[k];
  for (int k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<uint8_t>(groups[k] >> 8);
    out[2 * k + 1] = static_cast<uint8_t>(groups[k] & 0xff);
  }
  return true;
}

bool ParseAddr(std::string_view s, IpAddr* ip) {
  IpAddr out;
  if (ParseV4(s, out.bytes.data())) {
    out.v6 = false;
    out.prefix = 32;
  } else if (ParseV6(s, out.bytes.data())) {
    out.v6 = true;
    out.prefix = 128;
  } else {
    return false;
  }
  *ip = out;
  return true;
}

bool AtLeastTwo(std::string_view s, char c) {
  size_t i = s.find(c);
  return i != std::string_view::npos && s.find(c, i + 1) != std::string_view::npos;
}

}  // namespace

tl::expected<IpAddr, std::string> ParseIpAddr(std::string_view text) {
  if (AtLeastTwo(text, ':') && AtLeastTwo(text, '.')) {
    return Err("error parsing IP address from string: IPv4 embedded in IPv6 is not accepted");
  }
  IpAddr ip;
  if (ParseAddr(text, &ip)) return ip;
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return Err("invalid IP address: `" + std::string(text) + "`");
  std::string_view addr = text.substr(0, slash);
  std::string_view subnet = text.substr(slash + 1);
  if (!ParseAddr(addr, &ip)) {
    return Err("error parsing IP address from the string `" + std::string(addr) + "`");
  }
  std::string_view digits = subnet;
  unsigned value = 0;
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return Err("error parsing subnet from the string `" + std::string(subnet) + "`");
  for (char c : digits) {
    if (!IsDigit(c)) return Err("error parsing subnet from the string `" + std::string(subnet) + "`");
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 255) return Err("error parsing subnet from the string `" + std::string(subnet) + "`");
  }
  if ((!ip.v6 && value > 32) || (ip.v6 && value > 128)) {
    return Err("invalid subnet: " + std::to_string(value));
  }
  ip.prefix = static_cast<uint8_t>(value);
  return ip;
}

tl::expected<int64_t, std::string> ParseDecimal(std::string_view text) {
  std::string_view s = text;
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t int_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  size_t int_end = i;
  if (int_end == int_start || i >= s.size() || s[i] != '.') {
    return Err("`" + std::string(text) + "` is not a well-formed decimal value");
  }
  ++i;
  size_t frac_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == frac_start || i != s.size()) {
    return Err("`" + std::string(text) + "` is not a well-formed decimal value");
  }
  int64_t l = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + int_end, l);
  if (ec != std::errc() || p != s.data() + int_end) return Err("overflow when converting to decimal");
  if (__builtin_mul_overflow(l, int64_t{10000}, &l)) return Err("overflow when converting to decimal");
  size_t len = s.size() - frac_start;
  if (len > 4) return Err("too many digits after the decimal in `" + std::string(text) + "`");
  int64_t r = 0;
  for (size_t k = frac_start; k < s.size(); ++k) r = r * 10 + (s[k] - '0');
  for (size_t k = len; k < 4; ++k) r *= 10;
  int64_t out = 0;
  bool overflow = l >= 0 ? __builtin_add_overflow(l, r, &out) : __builtin_sub_overflow(l, r, &out);
  if (overflow) return Err("overflow when converting to decimal");
  return out;
}

tl::expected<int64_t, std::string> ParseDuration(std::string_view s) {
  if (s.empty() || s == "-") return Err("invalid duration pattern");
  bool neg = s[0] == '-';
  size_t i = neg ? 1 : 0;
  // Units in order: d h m s ms. Each value parsed as u64.
  static constexpr std::string_view kUnits[] = {"d", "h", "m", "s", "ms"};
  static constexpr int64_t kMul[] = {86400000, 3600000, 60000, 1000, 1};
  uint64_t values[5] = {0, 0, 0, 0, 0};
  bool present[5] = {false, false, false, false, false};
  bool overflow_num = false;
  int next_unit = 0;
  while (i < s.size()) {
    size_t start = i;
    uint64_t v = 0;
    bool ovf = false;
    while (i < s.size() && IsDigit(s[i])) {
      if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, uint64_t(s[i] - '0'), &v)) ovf = true;
      ++i;
    }
    if (i == start || i >= s.size()) return Err("invalid duration pattern");
    int unit = -1;
    if (s[i] == 'm' && i + 1 < s.size() && s[i + 1] == 's') {
      unit = 4;
      i += 2;
    } else {
      for (int u = 0; u < 4; ++u) {
        if (s[i] == kUnits[u][0]) unit = u;
      }
      if (unit < 0) return Err("invalid duration pattern");
      ++i;
    }
    if (unit < next_unit) return Err("invalid duration pattern");
    next_unit = unit + 1;
    values[unit] = v;
    present[unit] = true;
    if (ovf) overflow_num = true;
  }
  if (next_unit == 0) return Err("invalid duration pattern");
  if (overflow_num) return Err("duration overflows internal representation");
  (void)present;
  int64_t ms = 0;
  if (neg) {
    if (values[4] > uint64_t{1} << 63) return Err("duration overflows internal representation");
    ms = values[4] == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(values[4]);
  } else {
    if (values[4] > static_cast<uint64_t>(INT64_MAX)) return Err("duration overflows internal representation");
    ms = static_cast<int64_t>(values[4]);
  }
  for (int u = 3; u >= 0; --u) {
    if (values[u] > static_cast<uint64_t>(INT64_MAX)) return Err("duration overflows internal representation");
    int64_t term = 0;
    if (__builtin_mul_overflow(static_cast<int64_t>(values[u]), kMul[u], &term)) {
      return Err("duration overflows internal representation");
    }
    bool ovf = neg ? __builtin_sub_overflow(ms, term, &ms) : __builtin_add_overflow(ms, term, &ms);
    if (ovf) return Err("duration overflows internal representation");
  }
  return ms;
}

namespace {
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int Num(std::string_view s, size_t pos, size_t len) {
  int v = 0;
  for (size_t k = pos; k < pos + len; ++k) v = v * 10 + (s[k] - '0');
  return v;
}
bool Digits(std::string_view s, size_t pos, size_t len) {
  if (pos + len > s.size()) return false;
  for (size_t k = pos; k < pos + len; ++k) {
    if (!IsDigit(s[k])) return false;
  }
  return true;
}
}  // namespace

tl::expected<int64_t, std::string> ParseDatetime(std::string_view s) {
  if (!(Digits(s, 0, 4) && s.size() >= 10 && s[4] == '-' && Digits(s, 5, 2) && s[7] == '-' && Digits(s, 8, 2))) {
    return Err("invalid date pattern");
  }
  int year = Num(s, 0, 4);
  int month = Num(s, 5, 2);
  int day = Num(s, 8, 2);
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  auto date_ok = [&] {
    if (month < 1 || month > 12 || day < 1) return false;
    int max = kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0);
    return day <= max;
  };
  std::string date_str(s.substr(0, 10));
  if (s.size() == 10) {
    if (!date_ok()) return Err("invalid date: " + date_str);
    return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400000;
  }
  if (!(s.size() >= 19 && s[10] == 'T' && Digits(s, 11, 2) && s[13] == ':' && Digits(s, 14, 2) && s[16] == ':' &&
        Digits(s, 17, 2))) {
    return Err("invalid hour/minute/second pattern");
  }
  int h = Num(s, 11, 2);
  int mi = Num(s, 14, 2);
  int sec = Num(s, 17, 2);
  size_t i = 19;
  int ms = 0;
  if (i < s.size() && s[i] == '.') {
    if (!Digits(s, i + 1, 3)) return Err("invalid millisecond and/or offset pattern");
    ms = Num(s, i + 1, 3);
    i += 4;
  }
  int64_t offset_sec = 0;
  bool has_offset = false;
  int oh = 0;
  int om = 0;
  if (i < s.size() && s[i] == 'Z' && i + 1 == s.size()) {
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-') && i + 5 == s.size() && Digits(s, i + 1, 4)) {
    has_offset = true;
    oh = Num(s, i + 1, 2);
    om = Num(s, i + 3, 2);
    offset_sec = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
  } else {
    return Err("invalid millisecond and/or offset pattern");
  }
  if (!date_ok()) return Err("invalid date: " + date_str);
  if (h > 23 || mi > 59 || sec > 59) return Err("invalid hour/minute/second: " + std::string(s.substr(11, 8)));
  if (has_offset && (oh >= 24 || om >= 60)) return Err("invalid offset range");
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t total_sec = days * 86400 + h * 3600 + mi * 60 + sec - offset_sec;
  return total_sec * 1000 + ms;
}

}  // namespace writ::cedar::internal
