// How one forward call is cut into rounds. All tokens of all sequences are stacked into one activation
// matrix so each projection is a single matrix product; a round holds at most `max_rows` rows so scratch
// memory stays bounded whatever the call's size. A sequence longer than the room left in a round continues
// in the next one, its state carried in place (exact: the recurrence does not care where it is cut).
#pragma once
#include <cstddef>
#include <vector>

#include "rwkv/model.h"

namespace rwkv::cpu {

struct Segment {
  size_t seq = 0;    // index into the call's sequences
  size_t begin = 0;  // first token of the sequence in this segment
  int len = 0;       // tokens
  int row = 0;       // first row of the round's activation matrix
  bool ends_sequence = false;
};

struct Round {
  int rows = 0;
  std::vector<Segment> segments;
};

// Checks a forward call's arguments before any state is touched: non-null, distinct states, a logits buffer
// where logits are asked for, every token inside [0, vocab). Throws E_ARGUMENT / E_TOKEN naming the sequence.
void validate_sequences(const std::vector<Sequence>& seqs, int vocab);

std::vector<Round> plan_rounds(const std::vector<Sequence>& seqs, int max_rows);

// The rows of a round whose logits were asked for (every row of an All sequence, the final row of a Last
// sequence), and where each row's logits go. Both vectors are cleared first; they are reused across rounds.
void head_rows(const std::vector<Sequence>& seqs, const Round& round, size_t vocab, std::vector<int>& rows,
               std::vector<float*>& dst);

// Splits each segment of a round into runs of at most `max_run` rows, for per-token work in parallel.
struct Run {
  int segment = 0;  // index in the round
  int row = 0;      // first row
  int len = 0;
};
std::vector<Run> split_runs(const Round& round, int max_run);

}  // namespace rwkv::cpu
