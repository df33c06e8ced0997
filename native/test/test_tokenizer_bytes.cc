// The byte tokenizer of byte-level models: id = byte value, exact round trips, range checks on decode.
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tokenizer.h"

namespace {

TEST(ids_are_byte_values) {
  auto t = rwkv::make_byte_tokenizer();
  std::string all;
  for (int b = 0; b < 256; b++) all.push_back(static_cast<char>(b));
  const std::vector<int32_t> ids = t->encode(all);
  CHECK(ids.size() == 256);
  for (int b = 0; b < 256; b++) CHECK(ids[b] == b);
  CHECK(t->decode(ids.data(), ids.size()) == all);
  CHECK(t->encode("").empty());
}

TEST(properties) {
  auto a = rwkv::make_byte_tokenizer();
  auto b = rwkv::make_byte_tokenizer();
  CHECK(a->vocab_size() == 256);
  CHECK(a->kind() == "bytes");
  CHECK(a->fingerprint().size() == 16);
  CHECK(a->fingerprint().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a->fingerprint() == b->fingerprint());
}

TEST(random_bytes_round_trip) {
  auto t = rwkv::make_byte_tokenizer();
  std::mt19937_64 rng(5);
  for (int n = 0; n < 100; n++) {
    std::string s(rng() % 500, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    const std::vector<int32_t> ids = t->encode(s);
    CHECK(t->decode(ids.data(), ids.size()) == s);
  }
}

TEST(decode_refuses_non_bytes) {
  auto t = rwkv::make_byte_tokenizer();
  const int32_t over[] = {65, 256};
  const int32_t negative[] = {-1};
  CHECK_THROWS_CODE(t->decode(over, 2), rwkv::code::kToken);
  CHECK_THROWS_CODE(t->decode(negative, 1), rwkv::code::kToken);
  try {
    t->decode(over, 2);
  } catch (const rwkv::Error& e) {
    CHECK(std::string(e.what()).find("256") != std::string::npos);
  }
  const int32_t zero[] = {0};
  CHECK(t->decode(zero, 1) == std::string(1, '\0'));  // byte 0 is an ordinary byte here
}

}  // namespace

TEST_MAIN()
