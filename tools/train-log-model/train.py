#!/usr/bin/env python3
"""Trains the byte-level RWKV-7 log model that `rwkvstream scan` uses by default, and writes it as an fp16
.pth in the official layout.

Recipe (everything follows from --seed):
  * text: log "files" of one format each, from generate_logs.py (seeded), plus the real service logs captured
    by capture_logs.py into samples/train/ (the held-out part, samples/heldout/, is never read here);
  * BATCH parallel streams each read stretches of 4 to 32 consecutive windows of WINDOW bytes from a random
    line of a random log file, the state carried from one window to the next (gradients stop at window edges),
    as scan reads a log: a separator "\\n" before every line, one state for the stream;
  * 3 layers x 128 channels, 2 heads of 64, FFN 512: about 0.78M parameters, 1.6 MB in fp16;
  * AdamW, warm-up then cosine decay; the decay follows whichever is further along, the step count or the
    wall-clock budget, so a slower machine still ends at the low learning rate.

Usage: nice -n 10 /usr/bin/python3 train.py --out ../../models/log/rwkv7-log.pth [--minutes 40] [--seed 1]
"""
import argparse
import glob
import math
import os
import random
import time

import torch
import torch.nn.functional as F

from generate_logs import KINDS, generate_file
from model import RWKV7

HERE = os.path.dirname(os.path.abspath(__file__))


def build_corpus(seed, n_files, real_repeat):
    """Returns a list of byte strings, one per log file, and how many bytes came from real logs."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_files):
        kind = rng.choice(KINDS)
        lines = generate_file(rng, kind, rng.randrange(40, 400))
        docs.append(('\n'.join(lines) + '\n').encode())
    real = 0
    for file in sorted(glob.glob(os.path.join(HERE, 'samples', 'train', '*.log'))):
        with open(file, 'rb') as f:
            data = f.read()
        if data:
            docs += [data] * real_repeat
            real += len(data) * real_repeat
    return docs, real


class Streams:
    """`size` parallel streams. Each visit reads one document from a random line start, in consecutive windows
    with the state carried (reset at the visit's start), for a random 4 to 32 windows or until the document
    ends. So the model learns to read long logs from a state that has seen what came before, as scan does,
    while the visits spread over many documents and formats."""

    def __init__(self, docs, size, window, seed, whole_files=False):
        self.whole_files = whole_files
        self.docs = [torch.frombuffer(bytearray(b'\n' + d), dtype=torch.uint8) for d in docs]
        self.starts = [torch.nonzero(d == 10).squeeze(1) for d in self.docs]
        self.weights = torch.tensor([float(len(d)) for d in self.docs])
        self.window = window
        self.gen = torch.Generator().manual_seed(seed)
        self.doc, self.pos, self.left = [0] * size, [0] * size, [0] * size

    def _visit(self, i):
        d = int(torch.multinomial(self.weights, 1, generator=self.gen))
        starts = self.starts[d]
        self.doc[i] = d
        if self.whole_files:   # the first stage: read the file from its start to its end
            self.pos[i], self.left[i] = 0, len(self.docs[d])
            return
        self.pos[i] = int(starts[torch.randint(len(starts), (1,), generator=self.gen)])
        self.left[i] = int(torch.randint(4, 33, (1,), generator=self.gen))

    def batch(self):
        """(x, y, reset): reset[i] is True where row i began a new visit (its state must start from zero)."""
        rows, reset = [], []
        for i in range(len(self.doc)):
            fresh = self.left[i] == 0 or self.pos[i] + self.window + 1 > len(self.docs[self.doc[i]])
            if fresh:
                self._visit(i)
            reset.append(fresh)
            doc = self.docs[self.doc[i]]
            row = doc[self.pos[i]:self.pos[i] + self.window + 1].long()
            if len(row) < self.window + 1:   # near a document's end: pad with blank lines
                row = torch.cat([row, torch.full((self.window + 1 - len(row),), 10, dtype=torch.long)])
            rows.append(row)
            self.pos[i] += self.window
            self.left[i] -= 1
        x = torch.stack(rows)
        return x[:, :-1], x[:, 1:], torch.tensor(reset)


def lr_at(progress, step, warmup, peak, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * min(1.0, progress)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', required=True)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--minutes', type=float, default=40.0, help='wall-clock budget of the training loop')
    parser.add_argument('--steps', type=int, default=5000, help='at most this many steps')
    parser.add_argument('--batch', type=int, default=8, help='parallel streams')
    parser.add_argument('--window', type=int, default=128)
    parser.add_argument('--layers', type=int, default=3)
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--lr', type=float, default=4e-3)
    parser.add_argument('--files', type=int, default=300, help='generated log files')
    parser.add_argument('--real-repeat', type=int, default=15, help='weight of the real service logs')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--init', help='start from this .pth (official layout) instead of random weights')
    parser.add_argument('--whole-files', action='store_true', help='each visit reads a whole file from its start')
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    docs, real = build_corpus(args.seed, args.files, args.real_repeat)
    total = sum(len(d) for d in docs)
    print(f'corpus: {len(docs)} files, {total / 1e6:.1f} MB ({real / 1e6:.2f} MB real logs, repeated x{args.real_repeat})', flush=True)
    streams = Streams(docs, args.batch, args.window, args.seed, args.whole_files)
    model = RWKV7(vocab=256, n_layer=args.layers, c=args.dim)
    if args.init:
        model.load_state_dict({k: v.float() for k, v in torch.load(args.init, map_location='cpu').items()})
        print(f'initialized from {args.init}', flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f'model: L{args.layers} C{args.dim}, {params / 1e6:.2f}M parameters', flush=True)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and not name.endswith('r_k') else no_decay).append(p)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.99), eps=1e-8)
    budget = args.minutes * 60
    started = time.time()
    avg = None
    state = None
    step = 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    while step < args.steps:
        elapsed = time.time() - started
        progress = max(step / args.steps, elapsed / budget)
        if progress >= 1.0:
            break
        lr = lr_at(progress, step, 30, args.lr, args.lr / 20)
        for group in opt.param_groups:
            group['lr'] = lr
        x, y, reset = streams.batch()
        if state is None:
            state = model.zero_state(args.batch)
        keep = (~reset).float()
        state = [tuple(t.detach() * keep.view(-1, *([1] * (t.dim() - 1))) for t in layer) for layer in state]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        step += 1
        if step % 20 == 0:
            print(f'step {step} loss {avg:.4f} nats/byte lr {lr:.2e} {elapsed / 60:.1f} min', flush=True)
        if step % 50 == 0:
            torch.save(model.state_dict_official(), args.out)
    torch.save(model.state_dict_official(), args.out)
    print(f'done: {step} steps, {(time.time() - started) / 60:.1f} min, final loss {avg:.4f}; wrote {args.out}', flush=True)


if __name__ == '__main__':
    main()
