// What the rwkv_bench subcommands share: command-line options, timing, medians, the machine's name,
// and a small JSON object writer for the one-line machine-readable result each subcommand prints last.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rwkv_bench {

// "--name value" pairs and bare "--flag"s after the subcommand.
class Args {
 public:
  Args(int argc, char** argv, int first);
  std::string str(const std::string& name, const std::string& fallback) const;
  long num(const std::string& name, long fallback) const;
  bool flag(const std::string& name) const;
  // Throws E_ARGUMENT naming any option that no call above asked about (a typo); call after reading them all.
  void reject_unused() const;

 private:
  std::map<std::string, std::string> values_;
  mutable std::map<std::string, bool> used_;
};

// CPU seconds used by every thread of this process so far. On a machine shared with other work, a rate per
// CPU second is what a thread achieves while it runs, independent of how often it is scheduled.
double process_cpu_seconds();

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v);

// Runs fn `warmup` times untimed, then `runs` times, and returns each timed run's seconds.
std::vector<double> time_runs(int warmup, int runs, const std::function<void()>& fn);

std::string cpu_model_name();

class JsonLine {
 public:
  JsonLine& add(const std::string& key, double v);
  JsonLine& add(const std::string& key, long v);
  JsonLine& add(const std::string& key, int v) { return add(key, static_cast<long>(v)); }
  JsonLine& add(const std::string& key, const std::string& v);
  JsonLine& add(const std::string& key, const char* v) { return add(key, std::string(v)); }
  JsonLine& add_null(const std::string& key);
  JsonLine& add_raw(const std::string& key, const std::string& json);
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::string json_escape(const std::string& s);

}  // namespace rwkv_bench
