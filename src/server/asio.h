#pragma once

// The one header through which ferry includes Boost.Asio and Boost.Beast. Every file
// that uses either includes this header first, so the <utility> workaround below is
// never forgotten: Boost 1.74's boost/asio/awaitable.hpp uses std::exchange without
// including <utility>, which g++ 12 in C++20 mode rejects.
//
// Only the pieces the server uses are included, to keep compile times down.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <utility>  // must precede every Boost.Asio / Boost.Beast header (see above)

namespace ferry::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;

}  // namespace ferry::server
