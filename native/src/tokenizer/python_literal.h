// Decoding of the Python literals that the World vocab file uses for its tokens (the output of repr() on a
// str or bytes object), so the file can be read without a Python interpreter.
#pragma once
#include <string>
#include <string_view>

namespace rwkv::tok {

// Decodes `literal` ('…', "…", b'…' or b"…") into the token's bytes: a str literal stands for its UTF-8
// encoding, a bytes literal for its raw bytes. Returns false with `expected` describing what the text should
// have been when the literal is malformed or would not be accepted by Python.
bool decode_python_literal(std::string_view literal, std::string& out, std::string& expected);

}  // namespace rwkv::tok
