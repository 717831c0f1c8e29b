// The one error type of deepcomp: a message that names the file, tensor or node and what is wrong.
// Functions that read untrusted input return Status or Result<T>; nothing throws across a library
// boundary. Depends on nothing but the standard library.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace deepcomp {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message" (for adding the file or tensor name).
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    std::string combined = context;
    combined += ": ";
    combined += message_;
    return Error(std::move(combined));
  }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

// A value or an error.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                     // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace deepcomp

// Propagates an error Status from an expression returning Status.
#define DEEPCOMP_RETURN_IF_ERROR(expr)          \
  do {                                          \
    ::deepcomp::Status _dc_status = (expr);     \
    if (!_dc_status.ok()) return _dc_status;    \
  } while (0)

#define DEEPCOMP_CONCAT_INNER(a, b) a##b
#define DEEPCOMP_CONCAT(a, b) DEEPCOMP_CONCAT_INNER(a, b)

// Declares `lhs` from a Result-returning expression, or returns its error.
#define DEEPCOMP_ASSIGN_OR_RETURN(lhs, expr)                                  \
  auto DEEPCOMP_CONCAT(_dc_result_, __LINE__) = (expr);                      \
  if (!DEEPCOMP_CONCAT(_dc_result_, __LINE__).ok())                          \
    return DEEPCOMP_CONCAT(_dc_result_, __LINE__).status();                  \
  lhs = std::move(DEEPCOMP_CONCAT(_dc_result_, __LINE__)).value()
