// SPDX-License-Identifier: Apache-2.0
// asio_impl.cpp — the one translation unit that compiles Asio's (and Asio SSL's)
// implementation (BOOST_ASIO_SEPARATE_COMPILATION), so other files include only headers.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
