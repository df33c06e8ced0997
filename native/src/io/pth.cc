// torch.save (zip) files: data.pkl describes the state dict; each storage is a stored zip entry data/<key>.
#include <cstring>
#include <unordered_map>

#include "io/byte_order.h"
#include "io/io_error.h"
#include "io/pickle.h"
#include "io/readers.h"
#include "io/zip.h"

namespace rwkv::io {

namespace {

using K = PyValue::Kind;

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32},  {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16},  {"CharStorage", DType::I8},  {"ByteStorage", DType::U8},
    {"BoolStorage", DType::Bool},
};

const StorageType* storage_type(const std::string& global) {
  for (const auto& t : kStorageTypes) {
    if (global == std::string("torch.") + t.name) return &t;
  }
  return nullptr;
}

constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";

// Only names that describe data are accepted; anything else in a model file is refused before it is used.
void check_global(const std::string& path, const std::string& module, const std::string& name) {
  std::string full = module + "." + name;
  if (full == "collections.OrderedDict" || full == kRebuildTensor || full == kRebuildParameter ||
      full == kRebuildParameterWithState || storage_type(full)) {
    return;
  }
  if (module == "torch" && name.size() > 7 && name.ends_with("Storage")) {
    fail(code::kModelDtype, path,
         "tensor storage type " + quoted(full) +
             " is not supported; expected Float, Half, BFloat16, Double, Long, Int, Short, Char, Byte or Bool storage");
  }
  fail(code::kModelFormat, path,
       "data.pkl refers to the global " + quoted(full) +
           "; expected only tensors and dicts (collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
           "torch._utils._rebuild_parameter, torch.*Storage). The file is not a plain state dict and is not "
           "loaded (nothing in it is executed)");
}

struct Storage {
  DType dtype;
  const uint8_t* data;
  uint64_t numel;
};

class PthReader {
 public:
  PthReader(std::shared_ptr<const MappedFile> file)
      : file_(std::move(file)),
        path_(file_->path()),
        out_(std::make_unique<LoadedTensorFile>("pth", path_, file_->size())),
        zip_(*file_, out_->budget()) {}

  std::unique_ptr<LoadedTensorFile> read() {
    out_->keep_alive(file_);
    const ZipEntry* pkl = nullptr;
    for (const auto& e : zip_.entries()) {
      if ((e.name == "data.pkl" || e.name.ends_with("/data.pkl")) && (!pkl || e.name.size() < pkl->name.size())) {
        pkl = &e;
      }
    }
    if (!pkl) {
      fail(code::kModelFormat, path_,
           "expected a torch.save archive with a <name>/data.pkl entry, found a zip archive of " +
               std::to_string(zip_.entries().size()) + " entries without one");
    }
    prefix_ = pkl->name.substr(0, pkl->name.size() - 8);
    read_byteorder();

    Unpickler unpickler(
        zip_.data(*pkl), path_ + ": " + pkl->name,
        [this](const std::string& m, const std::string& n) { check_global(path_, m, n); }, out_->budget());
    PyValue* root = unpickler.load();
    if (root->kind != K::Dict) {
      fail(code::kModelFormat, path_,
           std::string("expected data.pkl to hold a dict of tensors (a state dict), found a ") + kind_name(root->kind));
    }
    // Training frameworks wrap the weights as {"state_dict": {...}, ...}; converters read the inner dict.
    for (auto& [k, v] : root->entries) {
      if (k->kind == K::Str && k->s == "state_dict" && v->kind == K::Dict) {
        root = v;
        break;
      }
    }
    for (auto& [k, v] : root->entries) {
      if (k->kind != K::Str) {
        fail(code::kModelFormat, path_,
             std::string("expected string keys in the state dict, found a key of type ") + kind_name(k->kind));
      }
      add_tensor(k->s, v);
    }
    return std::move(out_);
  }

 private:
  void read_byteorder() {
    const ZipEntry* e = zip_.find(prefix_ + "byteorder");
    if (!e) return;  // written since torch 1.10; earlier files are little-endian
    auto d = zip_.data(*e);
    std::string order(reinterpret_cast<const char*>(d.data()), d.size());
    if (order == "little") return;
    if (order == "big") {
      big_endian_ = true;
      return;
    }
    fail(code::kModelFormat, path_, "expected byteorder 'little' or 'big', found " + quoted(order));
  }

  int64_t int_arg(const std::string& name, const char* what, PyValue* v) {
    if (v->kind != K::Int) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": expected an integer " + what + ", found a " + kind_name(v->kind));
    }
    return v->i;
  }

  std::vector<int64_t> int_tuple(const std::string& name, const char* what, PyValue* v) {
    if (v->kind != K::Tuple) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": expected a tuple of " + what + ", found a " + kind_name(v->kind));
    }
    std::vector<int64_t> out;
    for (PyValue* x : v->items) out.push_back(int_arg(name, what, x));
    return out;
  }

  const Storage& storage(const std::string& name, PyValue* pers) {
    PyValue* pid = pers->items[0];
    if (pid->kind != K::Tuple || pid->items.size() < 5 || pid->items[0]->kind != K::Str ||
        pid->items[0]->s != "storage" || pid->items[1]->kind != K::Global || pid->items[2]->kind != K::Str) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) +
               ": expected a storage reference ('storage', <type>, <key>, <location>, <numel>), found another "
               "persistent id");
    }
    const StorageType* type = storage_type(pid->items[1]->s);
    if (!type) {
      fail(code::kModelDtype, path_,
           "tensor " + quoted(name) + ": expected a storage type such as torch.FloatStorage, found " +
               quoted(pid->items[1]->s));
    }
    const std::string& key = pid->items[2]->s;
    int64_t numel = int_arg(name, "storage size", pid->items[4]);
    auto it = storages_.find(key);
    if (it != storages_.end()) {
      if (it->second.dtype != type->dtype) {
        fail(code::kModelFormat, path_,
             "storage " + quoted(key) + " is used as " + dtype_name(it->second.dtype) + " and as " +
                 dtype_name(type->dtype) + "; expected one type per storage");
      }
      return it->second;
    }
    std::string entry_name = prefix_ + "data/" + key;
    const ZipEntry* e = zip_.find(entry_name);
    if (!e) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": expected the zip entry " + quoted(entry_name) +
               " holding its storage, found none");
    }
    auto bytes = zip_.data(*e);
    uint64_t need = 0;
    if (numel < 0 || !checked_mul(static_cast<uint64_t>(numel), dtype_size(type->dtype), &need) ||
        need > bytes.size()) {
      fail(code::kModelFormat, path_,
           "storage " + quoted(key) + ": expected " + std::to_string(numel) + " elements of " +
               dtype_name(type->dtype) + ", found an entry of " + std::to_string(bytes.size()) + " bytes");
    }
    out_->budget().charge(sizeof(Storage) + sizeof(std::string) + key.size() + 64, "the storage table");
    return storages_.emplace(key, Storage{type->dtype, bytes.data(), static_cast<uint64_t>(numel)}).first->second;
  }

  void add_tensor(const std::string& name, PyValue* v) {
    // nn.Parameter wraps the tensor: _rebuild_parameter(tensor, requires_grad, hooks[, state]).
    if (v->kind == K::Call && (v->items[0]->s == kRebuildParameter || v->items[0]->s == kRebuildParameterWithState)) {
      PyValue* args = v->items[1];
      if (args->items.empty()) {
        fail(code::kModelFormat, path_,
             "tensor " + quoted(name) + ": expected _rebuild_parameter(tensor, ...), found no arguments");
      }
      v = args->items[0];
    }
    if (v->kind != K::Call || v->items[0]->s != kRebuildTensor) {
      if (name == "_strategy" || name == "_version" || name == "_rescale_layer") {
        fail(code::kModelFormat, path_,
             "the entry " + quoted(name) +
                 " marks a ChatRWKV pre-converted file (transposed or quantized weights); expected an official "
                 "checkpoint");
      }
      fail(code::kModelFormat, path_,
           "state-dict entry " + quoted(name) + ": expected a tensor, found a " +
               (v->kind == K::Call ? "call of " + quoted(v->items[0]->s) : std::string(kind_name(v->kind))));
    }
    PyValue* args = v->items[1];
    if (args->items.size() < 4 || args->items[0]->kind != K::PersId) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": expected _rebuild_tensor_v2(storage, offset, size, stride, ...), found " +
               std::to_string(args->items.size()) + " arguments");
    }
    const Storage& st = storage(name, args->items[0]);
    int64_t offset = int_arg(name, "storage offset", args->items[1]);
    std::vector<int64_t> shape = int_tuple(name, "sizes", args->items[2]);
    std::vector<int64_t> stride = int_tuple(name, "strides", args->items[3]);
    if (shape.size() != stride.size()) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": expected as many strides as sizes, found " + std::to_string(stride.size()) +
               " strides for " + std::to_string(shape.size()) + " sizes");
    }
    uint64_t nbytes = 0;
    if (offset < 0 || !shape_bytes(shape, st.dtype, &nbytes)) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + ": invalid size " + shape_str(shape) + " or storage offset " +
               std::to_string(offset));
    }
    uint64_t numel = nbytes / dtype_size(st.dtype);
    // The last element reached is offset + sum((size-1)*stride); it must lie inside the storage.
    uint64_t last = static_cast<uint64_t>(offset);
    bool contiguous = true;
    uint64_t expect = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      if (stride[d] < 0) {
        fail(code::kModelFormat, path_, "tensor " + quoted(name) + ": negative stride " + std::to_string(stride[d]));
      }
      if (shape[d] != 1 && static_cast<uint64_t>(stride[d]) != expect) contiguous = false;
      uint64_t reach = 0;
      if (shape[d] > 0 &&
          (!checked_mul(static_cast<uint64_t>(shape[d] - 1), static_cast<uint64_t>(stride[d]), &reach) ||
           !checked_add(last, reach, &last))) {
        last = UINT64_MAX;
      }
      expect *= static_cast<uint64_t>(shape[d]);
    }
    if (numel > 0 && last >= st.numel) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + " of size " + shape_str(shape) + " at storage offset " + std::to_string(offset) +
               ": expected it to fit in its storage of " + std::to_string(st.numel) +
               " elements, found it reaching element " +
               (last == UINT64_MAX ? std::string("beyond 2^64") : std::to_string(last)));
    }
    if (!contiguous && numel > st.numel) {
      fail(code::kModelFormat, path_,
           "tensor " + quoted(name) + " of size " + shape_str(shape) +
               " overlaps itself (more elements than its storage holds); expected a plain tensor");
    }
    TensorView view;
    view.dtype = st.dtype;
    view.shape = shape;
    size_t es = dtype_size(st.dtype);
    if (numel == 0) {
      view.data = st.data;
    } else if (contiguous && !big_endian_) {
      view.data = st.data + static_cast<uint64_t>(offset) * es;
    } else {
      view.data = gather(st, offset, shape, stride, numel);
    }
    out_->add(name, std::move(view));
  }

  // A row-major copy of a strided tensor, byte-swapped for big-endian files. The copy is charged to the
  // file's budget, so many entries gathering the same storage are refused once they pass it.
  const uint8_t* gather(const Storage& st, int64_t offset, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& stride, uint64_t numel) {
    size_t es = dtype_size(st.dtype);
    uint8_t* dst = out_->allocate(static_cast<size_t>(numel) * es);
    std::vector<int64_t> idx(shape.size(), 0);
    uint64_t src = static_cast<uint64_t>(offset);
    for (uint64_t n = 0; n < numel; n++) {
      const uint8_t* s = st.data + src * es;
      uint8_t* d = dst + n * es;
      if (big_endian_) {
        for (size_t b = 0; b < es; b++) d[b] = s[es - 1 - b];
      } else {
        std::memcpy(d, s, es);
      }
      for (size_t k = shape.size(); k-- > 0;) {
        src += static_cast<uint64_t>(stride[k]);
        if (++idx[k] < shape[k]) break;
        src -= static_cast<uint64_t>(stride[k]) * static_cast<uint64_t>(shape[k]);
        idx[k] = 0;
      }
    }
    return dst;
  }

  std::shared_ptr<const MappedFile> file_;
  std::string path_;
  std::unique_ptr<LoadedTensorFile> out_;  // before zip_: it holds the budget the zip directory is charged to
  ZipArchive zip_;
  std::string prefix_;
  bool big_endian_ = false;
  std::unordered_map<std::string, Storage> storages_;
};

}  // namespace

std::unique_ptr<LoadedTensorFile> read_pth(std::shared_ptr<const MappedFile> file) {
  return PthReader(std::move(file)).read();
}

}  // namespace rwkv::io
