#include "cpu/batch_plan.h"

#include <algorithm>

namespace rwkv::cpu {

std::vector<Round> plan_rounds(const std::vector<Sequence>& seqs, int max_rows) {
  std::vector<Round> rounds;
  Round cur;
  for (size_t s = 0; s < seqs.size(); s++) {
    size_t done = 0;
    const size_t n = seqs[s].n_tokens;
    while (done < n) {
      if (cur.rows == max_rows) {
        rounds.push_back(std::move(cur));
        cur = Round{};
      }
      const size_t room = static_cast<size_t>(max_rows - cur.rows);
      const int len = static_cast<int>(std::min(room, n - done));
      Segment seg;
      seg.seq = s;
      seg.begin = done;
      seg.len = len;
      seg.row = cur.rows;
      seg.ends_sequence = done + static_cast<size_t>(len) == n;
      cur.segments.push_back(seg);
      cur.rows += len;
      done += static_cast<size_t>(len);
    }
  }
  if (cur.rows > 0) rounds.push_back(std::move(cur));
  return rounds;
}

std::vector<Run> split_runs(const Round& round, int max_run) {
  std::vector<Run> runs;
  for (size_t i = 0; i < round.segments.size(); i++) {
    const Segment& s = round.segments[i];
    for (int off = 0; off < s.len; off += max_run)
      runs.push_back({static_cast<int>(i), s.row + off, std::min(max_run, s.len - off)});
  }
  return runs;
}

}  // namespace rwkv::cpu
