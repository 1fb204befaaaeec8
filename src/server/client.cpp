// The client's half of Beast and Asio. Each call runs the asynchronous operations on a private
// io_context, so that every step has a deadline (Beast's synchronous calls have none).
#include "server/client.h"

#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace writ::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;
using TcpStream = beast::basic_stream<asio::ip::tcp>;

// Runs `ioc` until the operation started just before has completed.
void RunToCompletion(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

}  // namespace

Result<json::Value> ClientResponse::Json() const {
  auto parsed = json::Parse(body, {.max_bytes = body.size() + 1, .max_depth = 256});
  if (!parsed) return Fail(Code::kInvalidArgument, "response is not JSON: " + parsed.error().message);
  return parsed;
}

std::optional<Error> ClientResponse::AsError() const {
  if (status >= 200 && status < 300) return std::nullopt;
  Error error{Code::kInternal, "HTTP status " + std::to_string(status)};
  switch (status) {
    case 400: case 405: case 415: error.code = Code::kInvalidArgument; break;
    case 401: error.code = Code::kUnauthenticated; break;
    case 403: error.code = Code::kPermissionDenied; break;
    case 404: error.code = Code::kNotFound; break;
    case 409: error.code = Code::kConflict; break;
    case 413: case 429: case 431: error.code = Code::kResourceExhausted; break;
    case 501: error.code = Code::kUnimplemented; break;
    case 503: error.code = Code::kUnavailable; break;
    case 504: error.code = Code::kDeadlineExceeded; break;
    default: break;
  }
  auto parsed = json::Parse(body);
  if (parsed) {
    if (const json::Value* inner = parsed->Find("error"); inner != nullptr) {
      if (const json::Value* code = inner->Find("code"); code != nullptr && code->is_string()) {
        Code known;
        if (ParseCodeName(code->as_string(), &known)) error.code = known;
      }
      if (const json::Value* message = inner->Find("message"); message != nullptr && message->is_string()) {
        error.message = message->as_string();
      }
    }
  }
  return error;
}

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {}

  std::string Endpoint() const {
    if (!options_.unix_socket.empty()) return options_.unix_socket;
    const bool v6 = options_.tcp_host.find(':') != std::string::npos;
    return (v6 ? "[" + options_.tcp_host + "]" : options_.tcp_host) + ":" + std::to_string(options_.tcp_port);
  }

  Result<ClientResponse> Send(std::string_view method, std::string_view target, std::string_view content_type,
                              std::string_view body, bool has_body, const Headers& headers) {
    bhttp::request<bhttp::string_body> request;
    request.version(11);
    request.method_string(beast::string_view(method.data(), method.size()));
    request.target(beast::string_view(target.data(), target.size()));
    request.set(bhttp::field::host, options_.unix_socket.empty() ? Endpoint() : "localhost");
    request.set(bhttp::field::user_agent, "writ/0.1");
    for (const auto& [name, value] : headers.entries()) request.set(name, value);
    if (has_body) {
      request.set(bhttp::field::content_type, beast::string_view(content_type.data(), content_type.size()));
      request.body() = std::string(body);
    }
    request.keep_alive(true);
    request.prepare_payload();

    const bool reused = !std::holds_alternative<std::monostate>(stream_);
    auto result = Exchange(request);
    if (!result && reused && retry_safe_) {
      // The server may have closed the idle keep-alive connection: one fresh attempt.
      stream_ = std::monostate();
      result = Exchange(request);
    }
    if (!result) stream_ = std::monostate();
    return result;
  }

 private:
  Status Connect() {
    beast::error_code error;
    if (!options_.unix_socket.empty()) {
      auto stream = std::make_unique<UnixStream>(ioc_);
      stream->expires_after(options_.timeout);
      stream->async_connect(asio::local::stream_protocol::endpoint(options_.unix_socket),
                            [&](beast::error_code result) { error = result; });
      RunToCompletion(ioc_);
      if (error) return ConnectError(error);
      stream_ = std::move(stream);
    } else {
      const asio::ip::address address = asio::ip::make_address(
          options_.tcp_host == "localhost" ? std::string("127.0.0.1") : options_.tcp_host, error);
      if (error) return Fail(Code::kInvalidArgument, "`" + options_.tcp_host + "` is not an IP address or `localhost`");
      auto stream = std::make_unique<TcpStream>(ioc_);
      stream->expires_after(options_.timeout);
      stream->async_connect(asio::ip::tcp::endpoint(address, options_.tcp_port),
                            [&](beast::error_code result) { error = result; });
      RunToCompletion(ioc_);
      if (error) return ConnectError(error);
      stream_ = std::move(stream);
    }
    buffer_.clear();
    return Ok();
  }

  Status ConnectError(const beast::error_code& error) const {
    if (error == boost::system::errc::no_such_file_or_directory || error == asio::error::connection_refused) {
      return Fail(Code::kUnavailable, "writd is not running: cannot connect to " + Endpoint());
    }
    if (error == boost::system::errc::permission_denied) {
      return Fail(Code::kPermissionDenied, "cannot connect to writd at " + Endpoint() + ": permission denied");
    }
    if (error == beast::error::timeout) {
      return Fail(Code::kDeadlineExceeded, "cannot connect to writd at " + Endpoint() + ": timed out");
    }
    return Fail(Code::kUnavailable, "cannot connect to writd at " + Endpoint() + ": " + error.message());
  }

  template <class Stream>
  Result<ClientResponse> ExchangeOn(Stream& stream, const bhttp::request<bhttp::string_body>& request) {
    beast::error_code error;
    stream.expires_after(options_.timeout);
    bhttp::async_write(stream, request, [&](beast::error_code result, size_t) { error = result; });
    RunToCompletion(ioc_);
    retry_safe_ = true;  // nothing was read yet: the server did not answer this request
    // The server may refuse a request before reading all of it (413) and close its side: its
    // answer may still be there to read.
    const bool refused_early = error == asio::error::broken_pipe || error == asio::error::connection_reset;
    if (!error || refused_early) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(options_.max_response_bytes);
      bool read_any = false;
      bhttp::async_read(stream, buffer_, parser, [&](beast::error_code result, size_t bytes) {
        error = result;
        read_any = bytes > 0;
      });
      RunToCompletion(ioc_);
      if (error && refused_early) error = asio::error::broken_pipe;
      retry_safe_ = !read_any && (error == bhttp::error::end_of_stream || error == asio::error::connection_reset ||
                                  error == asio::error::broken_pipe || error == asio::error::eof);
      if (!error) {
        auto& message = parser.get();
        ClientResponse response;
        response.status = static_cast<int>(message.result_int());
        for (const auto& field : message) {
          response.headers.Add(std::string(field.name_string()), std::string(field.value()));
        }
        response.body = std::move(message.body());
        if (!message.keep_alive()) stream_ = std::monostate();
        return response;
      }
    }
    if (error == beast::error::timeout) {
      return Fail(Code::kDeadlineExceeded, "writd at " + Endpoint() + " did not answer within " +
                                               std::to_string(options_.timeout.count()) + "ms");
    }
    return Fail(Code::kUnavailable, "connection to writd at " + Endpoint() + " failed: " + error.message());
  }

  Result<ClientResponse> Exchange(const bhttp::request<bhttp::string_body>& request) {
    retry_safe_ = false;
    if (std::holds_alternative<std::monostate>(stream_)) WRIT_RETURN_IF_ERROR(Connect());
    if (auto* unix_stream = std::get_if<std::unique_ptr<UnixStream>>(&stream_)) {
      return ExchangeOn(**unix_stream, request);
    }
    return ExchangeOn(*std::get<std::unique_ptr<TcpStream>>(stream_), request);
  }

  const ClientOptions options_;
  asio::io_context ioc_;
  std::variant<std::monostate, std::unique_ptr<UnixStream>, std::unique_ptr<TcpStream>> stream_;
  beast::flat_buffer buffer_;
  bool retry_safe_ = false;
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<ClientResponse> Client::Request(std::string_view method, std::string_view target,
                                       const std::optional<json::Value>& body, const Headers& headers) {
  if (!body) return impl_->Send(method, target, "", "", false, headers);
  const std::string text = json::Serialize(*body);
  return impl_->Send(method, target, "application/json", text, true, headers);
}

Result<ClientResponse> Client::RequestRaw(std::string_view method, std::string_view target,
                                          std::string_view content_type, std::string_view raw_body,
                                          const Headers& headers) {
  return impl_->Send(method, target, content_type, raw_body, true, headers);
}

std::string Client::Endpoint() const { return impl_->Endpoint(); }

}  // namespace writ::server
