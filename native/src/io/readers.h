// The container readers behind TensorFile::open. Each returns tensors under the names the file uses, in the
// shapes the file stores (ggml: already mapped back to the official layout of every version); names.h then maps foreign
// naming schemes to the official one.
#pragma once
#include <memory>

#include "io/loaded_file.h"
#include "io/mapped_file.h"

namespace rwkv::io {

// Any supported container, recognised by its first bytes, with its names normalized (what TensorFile::open
// returns for a path).
std::unique_ptr<LoadedTensorFile> read_any(std::shared_ptr<const MappedFile> file);

std::unique_ptr<LoadedTensorFile> read_pth(std::shared_ptr<const MappedFile> file);
std::unique_ptr<LoadedTensorFile> read_safetensors(std::shared_ptr<const MappedFile> file);
// A sharded Hugging Face checkpoint: `index` is model.safetensors.index.json, naming the shard of every tensor.
std::unique_ptr<LoadedTensorFile> read_safetensors_index(std::shared_ptr<const MappedFile> index);
std::unique_ptr<LoadedTensorFile> read_ggml(std::shared_ptr<const MappedFile> file);
// Turns the tensors rwkv.cpp's converter changed in RWKV-4/5/6 files back into the official ones (read_ggml
// calls it for every file that is not RWKV-7).
void undo_rwkv_cpp_transforms(LoadedTensorFile& file);

}  // namespace rwkv::io
