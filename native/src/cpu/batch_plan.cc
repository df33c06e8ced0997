#include "cpu/batch_plan.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "rwkv/error.h"

namespace rwkv::cpu {

void validate_sequences(const std::vector<Sequence>& seqs, int vocab) {
  std::unordered_set<const float*> states;
  for (size_t s = 0; s < seqs.size(); s++) {
    const Sequence& q = seqs[s];
    const std::string which = "sequence " + std::to_string(s);
    if (!q.state) throw Error(code::kArgument, which + ": state is null");
    if (!states.insert(q.state).second)
      throw Error(code::kArgument, which + ": shares its state with another sequence");
    if (q.n_tokens > 0 && !q.tokens) throw Error(code::kArgument, which + ": tokens is null");
    if (q.logits != LogitsMode::None && q.logits != LogitsMode::Last && q.logits != LogitsMode::All)
      throw Error(code::kArgument, which + ": unknown logits mode");
    if (q.logits == LogitsMode::Last && q.n_tokens == 0)
      throw Error(code::kArgument, which + ": logits of the last token were asked for, but it has no tokens");
    if (q.logits != LogitsMode::None && q.n_tokens > 0 && !q.logits_out)
      throw Error(code::kArgument, which + ": logits_out is null");
    for (size_t i = 0; i < q.n_tokens; i++) {
      const int32_t t = q.tokens[i];
      if (t < 0 || t >= vocab) {
        throw Error(code::kToken, "token " + std::to_string(t) + " at position " + std::to_string(i) + " of " + which +
                                      " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
      }
    }
  }
}

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

void head_rows(const std::vector<Sequence>& seqs, const Round& round, size_t vocab, std::vector<int>& rows,
               std::vector<float*>& dst) {
  rows.clear();
  dst.clear();
  for (const Segment& seg : round.segments) {
    const Sequence& s = seqs[seg.seq];
    if (s.logits == LogitsMode::All) {
      for (int j = 0; j < seg.len; j++) {
        rows.push_back(seg.row + j);
        dst.push_back(s.logits_out + (seg.begin + static_cast<size_t>(j)) * vocab);
      }
    } else if (s.logits == LogitsMode::Last && seg.ends_sequence) {
      rows.push_back(seg.row + seg.len - 1);
      dst.push_back(s.logits_out);
    }
  }
}

}  // namespace rwkv::cpu
