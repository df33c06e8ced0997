#include "bench_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "rwkv/error.h"

namespace rwkv_bench {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a.size() < 3) throw rwkv::Error(rwkv::code::kArgument, "unexpected argument " + a);
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      value = argv[++i];
    }
    values_[name] = value;
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  used_[name] = true;
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

long Args::num(const std::string& name, long fallback) const {
  used_[name] = true;
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != 0) throw rwkv::Error(rwkv::code::kArgument, "--" + name + " expects an integer");
  return v;
}

bool Args::flag(const std::string& name) const {
  used_[name] = true;
  return values_.count(name) != 0;
}

void Args::reject_unused() const {
  for (const auto& [k, v] : values_)
    if (!used_.count(k)) throw rwkv::Error(rwkv::code::kArgument, "unknown option --" + k);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<double> time_runs(int warmup, int runs, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; i++) fn();
  std::vector<double> t;
  for (int i = 0; i < runs; i++) {
    double t0 = now_seconds();
    fn();
    t.push_back(now_seconds() - t0);
  }
  return t;
}

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t c = line.find(':');
      if (c != std::string::npos) {
        size_t b = line.find_first_not_of(" \t", c + 1);
        return b == std::string::npos ? "" : line.substr(b);
      }
    }
  }
  return "unknown";
}

std::string json_escape(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      o += buf;
    } else {
      o += static_cast<char>(ch);
    }
  }
  return o + "\"";
}

JsonLine& JsonLine::add(const std::string& key, double v) {
  if (!std::isfinite(v)) return add_null(key);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  fields_.emplace_back(key, buf);
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, long v) {
  fields_.emplace_back(key, std::to_string(v));
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, const std::string& v) {
  fields_.emplace_back(key, json_escape(v));
  return *this;
}

JsonLine& JsonLine::add_null(const std::string& key) {
  fields_.emplace_back(key, "null");
  return *this;
}

JsonLine& JsonLine::add_raw(const std::string& key, const std::string& json) {
  fields_.emplace_back(key, json);
  return *this;
}

std::string JsonLine::str() const {
  std::string o = "{";
  for (size_t i = 0; i < fields_.size(); i++) {
    if (i) o += ",";
    o += json_escape(fields_[i].first) + ":" + fields_[i].second;
  }
  return o + "}";
}

}  // namespace rwkv_bench
