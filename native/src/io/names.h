// Maps foreign names and layouts of RWKV weights back to the official checkpoint ones (rwkv7-spec §2.2):
// Hugging Face / flash-linear-attention names, web-rwkv's transposed LoRA matrices. Official files pass
// through unchanged.
#pragma once
#include "io/loaded_file.h"

namespace rwkv::io {

void normalize_names(LoadedTensorFile& file);

}  // namespace rwkv::io
