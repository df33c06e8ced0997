#!/usr/bin/env -S python3
"""Checks that the engine computes the same function as the training model: loads the written .pth into the
PyTorch model (fp16 weights, computed in fp32), runs a log line through both, and compares the last position's
logits with `rwkvstream logits` (the engine, CPU, the file as shipped).

Usage: python3 check_export.py ../../models/log/rwkv7-log.pth
"""
import json
import os
import subprocess
import sys

import torch

from model import RWKV7

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
TEXT = '\n2026-12-07 02:24:37.274719+00:00 [info] <0.223.0> ra: starting system quorum_queues\n[2026-12-07'


def main():
    path = sys.argv[1]
    sd = torch.load(path, map_location='cpu')
    n_layer = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks.'))
    c = sd['emb.weight'].shape[1]
    model = RWKV7(vocab=sd['emb.weight'].shape[0], n_layer=n_layer, c=c, ffn=sd['blocks.0.ffn.key.weight'].shape[0])
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    model.eval()
    ids = list(TEXT.encode())
    with torch.no_grad():
        ours, _ = model(torch.tensor([ids]))
    ours = ours[0, -1]
    out = subprocess.run(['node', os.path.join(ROOT, 'bin', 'rwkvstream.mjs'), 'logits', path, '--tokens', ','.join(map(str, ids))],
                         check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    theirs = torch.tensor(doc['logits'] if isinstance(doc, dict) else doc)
    diff = (ours - theirs).abs().max().item()
    print(f'max |logit difference| {diff:.2e} (logit scale {ours.abs().max().item():.2f}); '
          f'top-1 {int(ours.argmax())} vs {int(theirs.argmax())}')
    if diff > 2e-2 or int(ours.argmax()) != int(theirs.argmax()):
        sys.exit('the engine does not compute the training model\'s function')


if __name__ == '__main__':
    main()
