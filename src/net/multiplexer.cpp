// SPDX-License-Identifier: Apache-2.0
// multiplexer.cpp — see multiplexer.hpp.
#include "net/multiplexer.hpp"

namespace swarmkeeper::net {

void Multiplexer::enqueue(Request* r) {
  r->received = 0;
  r->error = Error();
  if (failure_) {
    r->error = failure_;
    complete(r);
    return;
  }
  staged_.push_back(r);
}

const std::vector<std::string_view>& Multiplexer::prepare_write() {
  write_list_.clear();
  for (Request* r : staged_) {
    write_list_.push_back(r->payload);
    if (r->expected == 0)
      written_no_reply_.push_back(r);
    else
      written_.push_back(r);
  }
  staged_.clear();
  return write_list_;
}

void Multiplexer::on_written() {
  auto done = std::move(written_no_reply_);
  written_no_reply_.clear();
  for (Request* r : done) complete(r);
}

void Multiplexer::complete(Request* r) {
  if (r->on_done != nullptr) r->on_done(r);
}

Result<std::size_t> Multiplexer::on_read() {
  std::size_t dispatched = 0;
  for (;;) {
    const std::string_view pending = std::string_view(rbuf_).substr(rpos_);
    const auto status = parser_.feed(pending);
    if (status == resp::Parser::Status::need_more) break;
    if (status == resp::Parser::Status::error) return parser_.error();
    const resp::ReplyView view = parser_.view(pending);
    if (view.root().type() == resp::Type::push) {
      if (push_handler)
        push_handler(view);
      else
        ++pushes_dropped_;
    } else {
      if (written_.empty()) return Error(Errc::protocol_error, "the server sent a reply nobody asked for");
      Request* r = written_.front();
      if (r->sink.fn != nullptr) r->sink(view);
      if (++r->received == r->expected) {
        written_.pop_front();
        complete(r);
      }
      ++dispatched;
    }
    rpos_ += parser_.consumed();
    parser_.reset();
  }
  // Drop consumed bytes: all of them when the buffer is drained (the common case),
  // otherwise compact once the dead prefix outweighs the live tail.
  if (rpos_ == rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  } else if (rpos_ > 4096 && rpos_ > rbuf_.size() / 2) {
    rbuf_.erase(0, rpos_);
    rpos_ = 0;
  }
  return dispatched;
}

void Multiplexer::fail_all(const Error& err) {
  if (!failure_) failure_ = err;
  // Complete in order: replies already received are kept by the callers' sinks.
  std::deque<Request*> all;
  all.swap(written_);
  for (Request* r : written_no_reply_) all.push_back(r);
  written_no_reply_.clear();
  for (Request* r : staged_) all.push_back(r);
  staged_.clear();
  for (Request* r : all) {
    r->error = failure_;
    complete(r);
  }
}

}  // namespace swarmkeeper::net
