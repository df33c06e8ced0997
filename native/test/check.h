// A minimal test harness for the C++ tests: CHECK records a failure and keeps going; main returns non-zero
// if anything failed. Keeps the native tests free of third-party frameworks so they build anywhere.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace check {
inline int& failures() {
  static int f = 0;
  return f;
}
inline std::vector<std::pair<std::string, std::function<void()>>>& registry() {
  static std::vector<std::pair<std::string, std::function<void()>>> r;
  return r;
}
struct Register {
  Register(const char* name, std::function<void()> fn) { registry().emplace_back(name, std::move(fn)); }
};
inline std::string shared_path(const std::string& rel) {
  const char* env = std::getenv("RWKV_SHARED_DIR");
  return std::string(env ? env : RWKV_SHARED_DIR) + "/" + rel;
}
// The test data kept in the repository (native/test/fixtures).
inline std::string fixture_path(const std::string& rel) { return std::string(RWKV_TEST_FIXTURES) + "/" + rel; }
inline std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    std::exit(2);
  }
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
}  // namespace check

#define TEST(name)                                \
  static void name();                             \
  static check::Register name##_reg(#name, name); \
  static void name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ++check::failures();                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                               \
  } while (0)

#define CHECK_MSG(cond, ...)                                                        \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ++check::failures();                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
    }                                                                               \
  } while (0)

// Expects `expr` to throw rwkv::Error with the given code.
#define CHECK_THROWS_CODE(expr, want_code)                                                                         \
  do {                                                                                                             \
    bool thrown_ = false;                                                                                          \
    try {                                                                                                          \
      expr;                                                                                                        \
    } catch (const rwkv::Error& e_) {                                                                              \
      thrown_ = true;                                                                                              \
      if (e_.code() != (want_code)) {                                                                              \
        ++check::failures();                                                                                       \
        std::fprintf(stderr, "%s:%d: %s threw %s (%s), wanted %s\n", __FILE__, __LINE__, #expr, e_.code().c_str(), \
                     e_.what(), want_code);                                                                        \
      }                                                                                                            \
    }                                                                                                              \
    if (!thrown_) {                                                                                                \
      ++check::failures();                                                                                         \
      std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);                                \
    }                                                                                                              \
  } while (0)

namespace check {
// Runs every registered test; the exit status of a test binary.
inline int run_all() {
  for (auto& [n, fn] : registry()) {
    int before = failures();
    try {
      fn();
    } catch (const std::exception& e) {
      ++failures();
      std::fprintf(stderr, "%s: uncaught exception: %s\n", n.c_str(), e.what());
    }
    std::printf("%s %s\n", failures() == before ? "ok  " : "FAIL", n.c_str());
  }
  std::printf("%d failure(s)\n", failures());
  return failures() == 0 ? 0 : 1;
}
}  // namespace check

#define TEST_MAIN() \
  int main() { return check::run_all(); }
