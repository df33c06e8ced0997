// A small strict JSON (RFC 8259) parser for safetensors headers and shard indexes: no comments, no trailing
// commas, no duplicate keys, nesting limited so hostile input cannot exhaust the stack.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/read_budget.h"

namespace rwkv::io {

struct JsonValue {
  enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool b = false;
  bool is_uint = false;  // a number written as digits only that fits in uint64
  uint64_t u = 0;
  double num = 0;
  std::string str;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order

  const JsonValue* get(std::string_view key) const;
};

const char* kind_name(JsonValue::Kind k);

// Parses a whole document (surrounding whitespace allowed). On error throws rwkv::Error(E_MODEL_FORMAT) with
// `where` and the byte offset in the message. Every value, member and string is charged to `budget` as it is
// made (E_MODEL_LIMIT): a value costs about a hundred bytes, so a header of small values costs tens of times
// its length.
JsonValue parse_json(std::string_view text, const std::string& where, ReadBudget& budget);
// The same with a budget of its own, sized by the text (manifests and other small trusted documents).
JsonValue parse_json(std::string_view text, const std::string& where);

}  // namespace rwkv::io
