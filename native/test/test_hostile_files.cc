// Crafted model files (hostile_files.h), each opened in a child process so that a crash is seen as a signal and
// the child's peak resident memory (wait4's ru_maxrss) is its own. Each must be refused with a code and stay
// within the readers' bound: the growth over an idle child may not pass the budget (read_budget.h:
// kPerFileByte × size + kFixed) plus the file itself (its mapped pages count as resident) plus a little slack
// for the allocator. Before the bound these cases took gigabytes or killed the process.
//
//   test_hostile_files                 runs the tests
//   test_hostile_files --write DIR     writes the files to DIR with a manifest.json (name, file, bytes, code),
//                                      for the fault suite to open through the addon
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "check.h"
#include "hostile_files.h"
#include "io/read_budget.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/state_blob.h"
#include "rwkv/tensor_file.h"

using namespace rwkv;

namespace {

struct Outcome {
  std::string code;  // the error code, "ok" when it opened, or "signal N"
  std::string message;
  uint64_t peak_kib = 0;  // the child's peak resident memory
};

// Runs `fn` in a child with its address space capped at `cap_bytes` beyond the parent's size, so a regression
// fails with an allocation error (or a signal) instead of taking the machine's memory.
Outcome in_child(const std::function<void()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) std::exit(2);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    struct rlimit cap = {uint64_t{2} << 30, uint64_t{2} << 30};
    ::setrlimit(RLIMIT_AS, &cap);
    std::string out;
    try {
      fn();
      out = "ok\n";
    } catch (const Error& e) {
      out = e.code() + "\n" + e.what();
    } catch (const std::exception& e) {
      out = std::string("uncoded\n") + e.what();
    }
    if (::write(fds[1], out.data(), out.size()) < 0) _exit(3);
    _exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(r));
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  Outcome o;
  o.peak_kib = static_cast<uint64_t>(ru.ru_maxrss);
  if (WIFSIGNALED(status)) {
    o.code = "signal " + std::to_string(WTERMSIG(status));
    return o;
  }
  size_t nl = text.find('\n');
  o.code = text.substr(0, nl);
  o.message = nl == std::string::npos ? "" : text.substr(nl + 1);
  return o;
}

// Opens `path` in a child; checks the code and that the growth in peak memory stays within the bound.
void expect_refused_within_bound(const char* what, const std::string& path, uint64_t file_bytes, const char* want_code,
                                 const std::function<void()>& open = {}) {
  // A child starts with the parent's resident pages (the test's own buffers), so the baseline is an idle child
  // forked from the same state just before.
  uint64_t idle = in_child([] {}).peak_kib;
  Outcome o = in_child(open ? open : [&] { TensorFile::open(path); });
  uint64_t grew = o.peak_kib > idle ? (o.peak_kib - idle) * 1024 : 0;
  uint64_t bound = (io::ReadBudget::kPerFileByte + 1) * file_bytes + io::ReadBudget::kFixed + (uint64_t{8} << 20);
  std::printf("  %-58s %9llu bytes: %-16s peak +%7.1f MiB (bound %6.1f MiB)\n", what,
              static_cast<unsigned long long>(file_bytes), o.code.c_str(), grew / 1048576.0, bound / 1048576.0);
  CHECK_MSG(o.code == want_code, "%s: got %s (%s), wanted %s", what, o.code.c_str(), o.message.c_str(), want_code);
  CHECK_MSG(grew <= bound, "%s: peak memory grew by %llu bytes, more than %llu", what,
            static_cast<unsigned long long>(grew), static_cast<unsigned long long>(bound));
  CHECK_MSG(o.message.find(path) != std::string::npos || path.empty(), "%s: the message does not name the file: %s",
            what, o.message.c_str());
  if (open) return;
  // inspect_model reads the same header through the same readers: the same refusal, within the same bound.
  Outcome i = in_child([&] { rwkv::inspect_model(path); });
  uint64_t inspect_grew = i.peak_kib > idle ? (i.peak_kib - idle) * 1024 : 0;
  CHECK_MSG(i.code == want_code, "%s: inspect_model got %s (%s), wanted %s", what, i.code.c_str(), i.message.c_str(),
            want_code);
  CHECK_MSG(inspect_grew <= bound, "%s: inspect_model's peak memory grew by %llu bytes, more than %llu", what,
            static_cast<unsigned long long>(inspect_grew), static_cast<unsigned long long>(bound));
}

}  // namespace

TEST(zip64_locator_pointing_before_the_map_is_refused_not_a_crash) {
  iotest::TempFile tmp(".pth");
  auto bytes = hostile::zip64_locator_before_map();
  CHECK(bytes.size() == 106);
  tmp.write(bytes);
  expect_refused_within_bound("106-byte .pth, Zip64 locator at 2^64-2", tmp.path(), bytes.size(), code::kModelFormat);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "Zip64 end record", "an offset past the end");
}

TEST(one_storage_gathered_by_many_entries_is_refused) {
  iotest::TempFile tmp(".pth");
  // 4 MiB of storage named by 1000 entries: 4 GiB of copies without the bound.
  for (bool big_endian : {true, false}) {
    hostile::storage_reused_by_many_entries(tmp.path(), 1 << 20, 1000, big_endian);
    uint64_t size = check::read_file(tmp.path()).size();
    expect_refused_within_bound(big_endian ? "4 MiB .pth, 1000 big-endian views of one storage"
                                           : "4 MiB .pth, 1000 stride-0 views of one storage",
                                tmp.path(), size, code::kModelLimit);
  }
  // The same file with two entries is a model file like any other: both copies fit the budget.
  hostile::storage_reused_by_many_entries(tmp.path(), 1 << 20, 2, true);
  auto f = TensorFile::open(tmp.path());
  CHECK(f->tensors().size() == 2);
}

TEST(pickle_of_one_byte_opcodes_is_refused) {
  iotest::TempFile tmp(".pth");
  for (uint8_t op : {uint8_t(']'), uint8_t('}'), uint8_t('N'), uint8_t('('), uint8_t(0x94)}) {
    hostile::pickle_of_one_byte_opcodes(tmp.path(), size_t{4} << 20, op);
    uint64_t size = check::read_file(tmp.path()).size();
    std::string what =
        "4 MiB data.pkl of opcode 0x" + std::string(1, "0123456789abcdef"[op >> 4]) + "0123456789abcdef"[op & 15];
    expect_refused_within_bound(what.c_str(), tmp.path(), size, code::kModelLimit);
  }
  // A short run of the same opcodes fits the budget: the pickle's result, an empty dict, is an empty file.
  hostile::pickle_of_one_byte_opcodes(tmp.path(), 1000, ']');
  CHECK(TensorFile::open(tmp.path())->tensors().empty());
}

TEST(huge_safetensors_header_is_refused) {
  iotest::TempFile tmp(".safetensors");
  auto bytes = hostile::safetensors_with_huge_header(size_t{16} << 20);  // a 32 MiB header
  tmp.write(bytes);
  expect_refused_within_bound("32 MiB safetensors header of small numbers", tmp.path(), bytes.size(),
                              code::kModelLimit);
  // A short header of the same kind parses and is refused for what it says.
  tmp.write(hostile::safetensors_with_huge_header(1000));
  CHECK_THROWS_CODE(TensorFile::open(tmp.path()), code::kModelFormat);
}

TEST(block_999999_is_refused_before_layers_are_allocated) {
  iotest::TempFile tmp(".safetensors");
  auto bytes = hostile::safetensors_naming_block_999999();
  tmp.write(bytes);
  CHECK(bytes.size() < 800);
  std::string path = tmp.path();
  expect_refused_within_bound("750-byte safetensors naming blocks.999999.x", "", bytes.size(), code::kModelShape,
                              [&] { load_model(path, EngineOptions{}); });
  CHECK_ERROR_MENTIONS(load_model(path, EngineOptions{}), code::kModelShape, "every block from 0 to 999999", "block 1");
}

TEST(ggml_of_many_empty_records_stays_within_bound) {
  iotest::TempFile tmp(".bin");
  // A million records of 31 bytes: each costs a table entry of about 150 bytes.
  auto bytes = hostile::ggml_of_empty_records(1000000, 15);
  tmp.write(bytes);
  expect_refused_within_bound("31 MB rwkv.cpp .bin of 1M empty records", tmp.path(), bytes.size(), code::kModelLimit);
  // Long keys make each record cost about what it occupies: read in full and refused for its content.
  bytes = hostile::ggml_of_empty_records(4000, 1000);
  tmp.write(bytes);
  expect_refused_within_bound("4 MB rwkv.cpp .bin of 4000 empty records with long keys", tmp.path(), bytes.size(),
                              code::kModelTruncated);
}

TEST(state_blob_announcing_huge_payload_is_refused) {
  std::vector<uint8_t> blob(kStateBlobHeaderBytes + 64, 0);
  StateInfo info;
  info.version = "x070";
  info.n_floats = 16;
  encode_state_blob(info, nullptr, blob.data());
  uint64_t huge = uint64_t{1} << 62;
  std::memcpy(blob.data() + 80, &huge, 8);
  expect_refused_within_bound("state blob announcing 2^62 floats", "", blob.size(), code::kState,
                              [&] { decode_state_blob(blob.data(), blob.size(), nullptr); });
}

namespace {

// The files of the tests above, for the fault suite (test/faults/scenarios/bad-models.ts).
int write_files(const std::string& dir) {
  std::string manifest = "[";
  auto add = [&](const char* name, const std::string& file, const std::vector<uint8_t>& bytes, const char* code) {
    FILE* f = std::fopen((dir + "/" + file).c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) return false;
    std::fclose(f);
    manifest += std::string(manifest.size() > 1 ? "," : "") + "\n {\"name\":\"" + name + "\",\"file\":\"" + file +
                "\",\"bytes\":" + std::to_string(bytes.size()) + ",\"code\":\"" + code + "\"}";
    return true;
  };
  auto written = [&](const std::string& file) {
    auto c = check::read_file(dir + "/" + file);
    return std::vector<uint8_t>(c.begin(), c.end());
  };
  bool ok = add("106-byte .pth whose Zip64 locator points before the file", "zip64-locator.pth",
                hostile::zip64_locator_before_map(), code::kModelFormat);
  hostile::storage_reused_by_many_entries(dir + "/reuse-big-endian.pth", 1 << 20, 1000, true);
  ok = ok && add("4 MiB .pth: one storage in 1000 big-endian entries", "reuse-big-endian.pth",
                 written("reuse-big-endian.pth"), code::kModelLimit);
  hostile::storage_reused_by_many_entries(dir + "/reuse-stride0.pth", 1 << 20, 1000, false);
  ok = ok && add("4 MiB .pth: one storage in 1000 stride-0 entries", "reuse-stride0.pth", written("reuse-stride0.pth"),
                 code::kModelLimit);
  hostile::pickle_of_one_byte_opcodes(dir + "/pickle-lists.pth", size_t{4} << 20, ']');
  ok = ok &&
       add("4 MiB data.pkl of EMPTY_LIST opcodes", "pickle-lists.pth", written("pickle-lists.pth"), code::kModelLimit);
  hostile::pickle_of_one_byte_opcodes(dir + "/pickle-memo.pth", size_t{4} << 20, 0x94);
  ok = ok && add("4 MiB data.pkl of MEMOIZE opcodes", "pickle-memo.pth", written("pickle-memo.pth"), code::kModelLimit);
  ok = ok && add("32 MiB safetensors JSON header of small numbers", "huge-header.safetensors",
                 hostile::safetensors_with_huge_header(size_t{16} << 20), code::kModelLimit);
  ok = ok && add("750-byte safetensors naming blocks.999999.x", "block-999999.safetensors",
                 hostile::safetensors_naming_block_999999(), code::kModelShape);
  ok = ok && add("31 MB rwkv.cpp .bin of 1M empty records", "empty-records.bin",
                 hostile::ggml_of_empty_records(1000000, 15), code::kModelLimit);
  manifest += "\n]\n";
  FILE* f = std::fopen((dir + "/manifest.json").c_str(), "w");
  if (!ok || !f) {
    std::fprintf(stderr, "cannot write the hostile files to %s\n", dir.c_str());
    return 2;
  }
  std::fputs(manifest.c_str(), f);
  std::fclose(f);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write") return write_files(argv[2]);
  return check::run_all();
}
