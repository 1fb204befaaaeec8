// The extension function table: constructors and methods of ipaddr, decimal, datetime, duration.
#include <algorithm>
#include <array>
#include <cstdio>

#include "cedar/internal/ext.h"

namespace writ::cedar::internal {
namespace {

constexpr int64_t kDayMs = 86400000;

tl::unexpected<ExtError> TypeErr(std::string m) { return tl::unexpected<ExtError>(ExtError{true, std::move(m)}); }
tl::unexpected<ExtError> AppErr(std::string m) { return tl::unexpected<ExtError>(ExtError{false, std::move(m)}); }

std::string_view ExtTypeName(ExtKind k) {
  switch (k) {
    case ExtKind::kIpAddr: return "ipaddr";
    case ExtKind::kDecimal: return "decimal";
    case ExtKind::kDatetime: return "datetime";
    case ExtKind::kDuration: return "duration";
  }
  return "extension";
}

bool Want(const Value& v, ExtKind k, tl::unexpected<ExtError>* err) {
  if (v.is_ext(k)) return true;
  std::string m = "type error: expected " + std::string(ExtTypeName(k)) + ", got " + std::string(KindName(v.kind()));
  if (v.is_ext()) m = "type error: expected " + std::string(ExtTypeName(k)) + ", got " + std::string(ExtTypeName(v.as_ext().kind));
  if (v.is_string()) m += "; maybe you forgot to apply the `" + std::string(ExtTypeName(k)) + "` constructor?";
  *err = TypeErr(std::move(m));
  return false;
}

#define WANT(v, k)                          \
  do {                                      \
    tl::unexpected<ExtError> e_{ExtError{}}; \
    if (!Want((v), (k), &e_)) return e_;    \
  } while (false)

#define WANT_STRING(v)                                                                         \
  do {                                                                                         \
    if (!(v).is_string()) return TypeErr("type error: expected string, got " + std::string(KindName((v).kind()))); \
  } while (false)

Value MakeExt(ExtKind k, int64_t n) {
  ExtValue e;
  e.kind = k;
  e.num = n;
  return Value::Ext(e);
}

ExtResult Ip(std::span<const Value> a) {
  WANT_STRING(a[0]);
  auto ip = ParseIpAddr(a[0].as_string());
  if (!ip) return AppErr("error evaluating `ip`: " + ip.error());
  ExtValue e;
  e.kind = ExtKind::kIpAddr;
  e.ip = *ip;
  return Value::Ext(e);
}
ExtResult Dec(std::span<const Value> a) {
  WANT_STRING(a[0]);
  auto d = ParseDecimal(a[0].as_string());
  if (!d) return AppErr("error evaluating `decimal`: " + d.error());
  return MakeExt(ExtKind::kDecimal, *d);
}
ExtResult Dt(std::span<const Value> a) {
  WANT_STRING(a[0]);
  auto d = ParseDatetime(a[0].as_string());
  if (!d) return AppErr("error evaluating `datetime`: " + d.error());
  return MakeExt(ExtKind::kDatetime, *d);
}
ExtResult Dur(std::span<const Value> a) {
  WANT_STRING(a[0]);
  auto d = ParseDuration(a[0].as_string());
  if (!d) return AppErr("error evaluating `duration`: " + d.error());
  return MakeExt(ExtKind::kDuration, *d);
}

template <int kOp>
ExtResult DecCmp(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDecimal);
  WANT(a[1], ExtKind::kDecimal);
  int64_t x = a[0].as_ext().num;
  int64_t y = a[1].as_ext().num;
  bool r = kOp == 0 ? x < y : kOp == 1 ? x <= y : kOp == 2 ? x > y : x >= y;
  return Value::Bool(r);
}

ExtResult IsV4(std::span<const Value> a) {
  WANT(a[0], ExtKind::kIpAddr);
  return Value::Bool(!a[0].as_ext().ip.v6);
}
ExtResult IsV6(std::span<const Value> a) {
  WANT(a[0], ExtKind::kIpAddr);
  return Value::Bool(a[0].as_ext().ip.v6);
}
ExtResult IsLoopback(std::span<const Value> a) {
  WANT(a[0], ExtKind::kIpAddr);
  const IpAddr& ip = a[0].as_ext().ip;
  if (!ip.v6) return Value::Bool(ip.bytes[0] == 127);
  for (int k = 0; k < 15; ++k) {
    if (ip.bytes[k] != 0) return Value::Bool(false);
  }
  return Value::Bool(ip.bytes[15] == 1);
}
ExtResult IsMulticast(std::span<const Value> a) {
  WANT(a[0], ExtKind::kIpAddr);
  const IpAddr& ip = a[0].as_ext().ip;
  if (!ip.v6) return Value::Bool((ip.bytes[0] & 0xf0) == 0xe0 && ip.prefix >= 4);
  return Value::Bool(ip.bytes[0] == 0xff && ip.prefix >= 8);
}

// Network (host bits cleared) and broadcast (host bits set) addresses of `ip`, big-endian bytes.
void Bounds(const IpAddr& ip, std::array<uint8_t, 16>* net, std::array<uint8_t, 16>* bcast) {
  int n = ip.v6 ? 16 : 4;
  *net = {};
  *bcast = {};
  for (int k = 0; k < n; ++k) {
    int bits = std::clamp(static_cast<int>(ip.prefix) - 8 * k, 0, 8);
    uint8_t mask = static_cast<uint8_t>(bits == 0 ? 0 : (0xff << (8 - bits)) & 0xff);
    (*net)[k] = static_cast<uint8_t>(ip.bytes[k] & mask);
    (*bcast)[k] = static_cast<uint8_t>(ip.bytes[k] | static_cast<uint8_t>(~mask));
  }
}
ExtResult IsInRange(std::span<const Value> a) {
  WANT(a[0], ExtKind::kIpAddr);
  WANT(a[1], ExtKind::kIpAddr);
  const IpAddr& x = a[0].as_ext().ip;
  const IpAddr& y = a[1].as_ext().ip;
  if (x.v6 != y.v6) return Value::Bool(false);
  std::array<uint8_t, 16> xn, xb, yn, yb;
  Bounds(x, &xn, &xb);
  Bounds(y, &yn, &yb);
  return Value::Bool(yn <= xn && xb <= yb);
}

ExtResult Offset(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDatetime);
  WANT(a[1], ExtKind::kDuration);
  int64_t r = 0;
  if (__builtin_add_overflow(a[0].as_ext().num, a[1].as_ext().num, &r)) {
    return AppErr("overflows when adding an offset to a datetime");
  }
  return MakeExt(ExtKind::kDatetime, r);
}
ExtResult DurationSince(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDatetime);
  WANT(a[1], ExtKind::kDatetime);
  int64_t r = 0;
  if (__builtin_sub_overflow(a[0].as_ext().num, a[1].as_ext().num, &r)) {
    return AppErr("overflows when computing the duration between two datetimes");
  }
  return MakeExt(ExtKind::kDuration, r);
}
ExtResult ToDate(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDatetime);
  int64_t t = a[0].as_ext().num;
  int64_t rem = t % kDayMs;
  if (rem < 0) rem += kDayMs;
  int64_t r = 0;
  if (__builtin_sub_overflow(t, rem, &r)) return AppErr("overflows when computing the date of a datetime");
  return MakeExt(ExtKind::kDatetime, r);
}
ExtResult ToTime(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDatetime);
  int64_t t = a[0].as_ext().num;
  int64_t rem = t % kDayMs;
  if (rem < 0) rem += kDayMs;
  return MakeExt(ExtKind::kDuration, rem);
}
template <int64_t kDiv>
ExtResult DurTo(std::span<const Value> a) {
  WANT(a[0], ExtKind::kDuration);
  return Value::Long(a[0].as_ext().num / kDiv);
}

const ExtFunction kFunctions[] = {
    {"ip", false, 1, Ip},
    {"decimal", false, 1, Dec},
    {"datetime", false, 1, Dt},
    {"duration", false, 1, Dur},
    {"lessThan", true, 2, DecCmp<0>},
    {"lessThanOrEqual", true, 2, DecCmp<1>},
    {"greaterThan", true, 2, DecCmp<2>},
    {"greaterThanOrEqual", true, 2, DecCmp<3>},
    {"isIpv4", true, 1, IsV4},
    {"isIpv6", true, 1, IsV6},
    {"isLoopback", true, 1, IsLoopback},
    {"isMulticast", true, 1, IsMulticast},
    {"isInRange", true, 2, IsInRange},
    {"offset", true, 2, Offset},
    {"durationSince", true, 2, DurationSince},
    {"toDate", true, 1, ToDate},
    {"toTime", true, 1, ToTime},
    {"toMilliseconds", true, 1, DurTo<1>},
    {"toSeconds", true, 1, DurTo<1000>},
    {"toMinutes", true, 1, DurTo<60000>},
    {"toHours", true, 1, DurTo<3600000>},
    {"toDays", true, 1, DurTo<86400000>},
};

}  // namespace

const ExtFunction* FindExtFunction(std::string_view name, bool method) {
  for (const auto& f : kFunctions) {
    if (f.name == name && f.method == method) return &f;
  }
  return nullptr;
}

const ExtFunction* ConstructorForType(std::string_view type_name) {
  if (type_name == "ipaddr") return &kFunctions[0];
  if (type_name == "decimal") return &kFunctions[1];
  if (type_name == "datetime") return &kFunctions[2];
  if (type_name == "duration") return &kFunctions[3];
  return nullptr;
}

std::string ExtToString(const ExtValue& ext) {
  char buf[96];
  switch (ext.kind) {
    case ExtKind::kDecimal: {
      int64_t whole = ext.num / 10000;
      int64_t frac = ext.num % 10000;
      if (frac < 0) frac = -frac;
      const char* sign = (ext.num < 0 && whole == 0) ? "-" : "";
      std::snprintf(buf, sizeof buf, "decimal(\"%s%lld.%04lld\")", sign, static_cast<long long>(whole),
                    static_cast<long long>(frac));
      return buf;
    }
    case ExtKind::kDuration:
      std::snprintf(buf, sizeof buf, "duration(\"%lldms\")", static_cast<long long>(ext.num));
      return buf;
    case ExtKind::kDatetime:
      std::snprintf(buf, sizeof buf, "datetime(\"1970-01-01\").offset(duration(\"%lldms\"))",
                    static_cast<long long>(ext.num));
      return buf;
    case ExtKind::kIpAddr: {
      std::string out = "ip(\"";
      if (!ext.ip.v6) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ext.ip.bytes[0], ext.ip.bytes[1], ext.ip.bytes[2], ext.ip.bytes[3]);
        out += buf;
      } else {
        for (int k = 0; k < 8; ++k) {
          if (k) out += ':';
          std::snprintf(buf, sizeof buf, "%x", (ext.ip.bytes[2 * k] << 8) | ext.ip.bytes[2 * k + 1]);
          out += buf;
        }
      }
      if (ext.ip.prefix != (ext.ip.v6 ? 128 : 32)) out += "/" + std::to_string(ext.ip.prefix);
      return out + "\")";
    }
  }
  return "";
}

}  // namespace writ::cedar::internal
