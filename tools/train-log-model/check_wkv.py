#!/usr/bin/env -S python3
"""Checks that the chunked WKV recurrence the trainer uses (wkv_parallel) is the plain step-by-step recurrence
(wkv_chunk, spec §3.2 step 10): outputs, final state and every input's gradient, in float64 on fresh random
inputs. Usage: python3 check_wkv.py [--seed N]"""
import argparse
import sys

import torch

from model import wkv_chunk, wkv_parallel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_default_dtype(torch.float64)
    b, h, length, n = 2, 2, 16, 64
    state = torch.randn(b, h, n, n) * 0.3
    r, v = torch.randn(b, h, length, n), torch.randn(b, h, length, n)
    k = torch.randn(b, h, length, n) * 0.3
    lw = -0.6065 * torch.sigmoid(torch.randn(b, h, length, n) * 3)
    kk = torch.nn.functional.normalize(torch.randn(b, h, length, n), dim=-1)
    a = torch.sigmoid(torch.randn(b, h, length, n))
    xs = [x.requires_grad_() for x in (state, r, lw, k, v, kk, a)]
    t = lambda x: x.transpose(1, 2)
    y1, s1 = wkv_parallel(*xs)
    y2, s2 = wkv_chunk(xs[0], t(xs[1]), t(xs[2].exp()), t(xs[3]), t(xs[4]), t(xs[5]), t(xs[6]))
    y2 = t(y2)
    gy, gs = torch.randn_like(y1), torch.randn_like(s1)
    g1 = torch.autograd.grad((y1 * gy).sum() + (s1 * gs).sum(), xs)
    g2 = torch.autograd.grad((y2 * gy).sum() + (s2 * gs).sum(), xs)
    worst = max([(y1 - y2).abs().max().item(), (s1 - s2).abs().max().item()] + [(p - q).abs().max().item() for p, q in zip(g1, g2)])
    print(f'max |difference| over outputs, state and gradients: {worst:.1e}')
    if worst > 1e-9:
        sys.exit('the chunked recurrence differs from the step-by-step one')


if __name__ == '__main__':
    main()
