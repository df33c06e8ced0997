"""RWKV-7 (x070) for training in PyTorch on a CPU, with parameters named and shaped as in the official
checkpoints, so `state_dict_official()` is what the engine loads (docs: ../shared/docs/rwkv7-spec.md §2-§3).

The sequence is processed in GPT mode: every projection runs on all positions at once, and the WKV state
recurrence runs chunk by chunk, each chunk solved with matrix products (wkv_parallel; wkv_chunk is the plain
step-by-step form it must equal). A window starts from a given state, so training can read a long stream in
consecutive windows as the engine reads it.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DECAY_SCALE = math.exp(-0.5)  # w = exp(-e^-0.5 * sigmoid(z)), spec §3.2 step 4


def lora_rank(c, m):
    return max(32, round(m * math.sqrt(c) / 32) * 32)


def wkv_chunk(state, r, w, k, v, kk, a):
    """Runs the state recurrence over one chunk. state (B,H,N,N) rows = value, columns = key; the rest (B,t,H,N)."""
    ys = []
    b = kk * a
    for t in range(r.shape[1]):
        sa = state @ (-kk[:, t]).unsqueeze(-1)                      # (B,H,N,1), from the old state
        state = (state * w[:, t].unsqueeze(-2) + sa * b[:, t].unsqueeze(-2)
                 + v[:, t].unsqueeze(-1) * k[:, t].unsqueeze(-2))
        ys.append((state @ r[:, t].unsqueeze(-1)).squeeze(-1))      # read-out with the new state
    return torch.stack(ys, dim=1), state


def wkv_parallel(state, r, lw, k, v, kk, a):
    """The same recurrence as wkv_chunk over one chunk, computed with matrix products instead of a loop.

    lw is log(w). With c_t the cumulative sum of lw up to t (inclusive) and sa_t = S_{t-1}(-kk_t):
      S_t = S_0 diag(e^c_t) + sum_{s<=t} (sa_s b_s^T + v_s k_s^T) diag(e^(c_t - c_s)),  b = kk*a.
    Each sa_t depends on the earlier ones through a unit lower-triangular system, solved exactly. Every
    exponent c_t - c_s (s <= t) is <= 0, so nothing overflows.
    Shapes: state (B,H,Nv,Nk); the rest (B,H,L,N). Returns y (B,H,L,N) and the final state.
    """
    length = r.shape[-2]
    alpha, b = -kk, kk * a
    c = torch.cumsum(lw, dim=-2)
    cp = c - lw                                                         # c_{t-1}
    strict = torch.ones(length, length, dtype=torch.bool).tril(-1)      # s < t
    incl = torch.ones(length, length, dtype=torch.bool).tril()          # s <= t
    d_prev = (cp.unsqueeze(-2) - c.unsqueeze(-3)).masked_fill(~strict[..., None], float('-inf')).exp()  # (B,H,t,s,N)
    d_incl = (c.unsqueeze(-2) - c.unsqueeze(-3)).masked_fill(~incl[..., None], float('-inf')).exp()
    a_k = torch.einsum('bhtj,bhtsj,bhsj->bhts', alpha, d_prev, k)
    a_b = torch.einsum('bhtj,bhtsj,bhsj->bhts', alpha, d_prev, b)
    r_k = torch.einsum('bhtj,bhtsj,bhsj->bhts', r, d_incl, k)
    r_b = torch.einsum('bhtj,bhtsj,bhsj->bhts', r, d_incl, b)
    s_t = state.transpose(-1, -2)                                       # (B,H,Nk,Nv)
    q = (cp.exp() * alpha) @ s_t + a_k @ v
    eye = torch.eye(length, dtype=r.dtype)
    sa = torch.linalg.solve_triangular(eye - a_b, q, upper=False, unitriangular=True)
    y = (c.exp() * r) @ s_t + r_b @ sa + r_k @ v
    tail = (c[..., -1:, :] - c).exp()                                   # e^(c_L - c_s)
    new_state = (state * c[..., -1:, :].exp() + sa.transpose(-1, -2) @ (b * tail)
                 + v.transpose(-1, -2) @ (k * tail))
    return y, new_state


class TimeMix(nn.Module):
    def __init__(self, layer, n_layer, c, head_size):
        super().__init__()
        self.layer, self.c, self.n = layer, c, head_size
        self.h = c // head_size
        ratio_0_to_1 = layer / max(1, n_layer - 1)
        ratio_1_to_0 = 1.0 - layer / n_layer
        ddd = (torch.arange(c, dtype=torch.float32) / c).view(1, 1, c)
        # Token-shift mixes: lower layers lean on the previous token more, per channel.
        for name, power in (('x_r', 0.2), ('x_w', 0.9), ('x_k', 0.7), ('x_v', 0.7), ('x_a', 0.9), ('x_g', 0.2)):
            setattr(self, name, nn.Parameter(1.0 - ddd.pow(power * ratio_1_to_0)))
        # Decay bias spread from slow (z=-7) to fast (z=5) channels.
        n = torch.arange(c, dtype=torch.float32)
        speed = -7 + 12 * (n / (c - 1)).pow(0.85 + ratio_0_to_1 ** 0.5)
        self.w0 = nn.Parameter(speed.view(1, 1, c) + 0.5)
        dw, da, dv, dg = lora_rank(c, 2.5), lora_rank(c, 2.5), lora_rank(c, 1.7), lora_rank(c, 5)
        self.w1 = nn.Parameter(torch.zeros(c, dw))
        self.w2 = nn.Parameter(self._ortho(dw, c, 0.1))
        self.a0 = nn.Parameter(torch.zeros(1, 1, c))
        self.a1 = nn.Parameter(torch.zeros(c, da))
        self.a2 = nn.Parameter(self._ortho(da, c, 0.1))
        if layer > 0:
            self.v0 = nn.Parameter(torch.ones(1, 1, c))
            self.v1 = nn.Parameter(torch.zeros(c, dv))
            self.v2 = nn.Parameter(self._ortho(dv, c, 0.1))
        self.g1 = nn.Parameter(torch.zeros(c, dg))
        self.g2 = nn.Parameter(self._ortho(dg, c, 0.1))
        self.k_k = nn.Parameter(torch.full((1, 1, c), 0.85))
        self.k_a = nn.Parameter(torch.ones(1, 1, c))
        self.r_k = nn.Parameter(torch.zeros(self.h, head_size))
        bound = 0.5 / math.sqrt(c)
        self.receptance = nn.Linear(c, c, bias=False)
        self.key = nn.Linear(c, c, bias=False)
        self.value = nn.Linear(c, c, bias=False)
        self.output = nn.Linear(c, c, bias=False)
        for lin in (self.receptance, self.key, self.value):
            nn.init.uniform_(lin.weight, -bound, bound)
        nn.init.zeros_(self.output.weight)
        self.ln_x = nn.GroupNorm(self.h, c, eps=64e-5)
        with torch.no_grad():
            self.ln_x.weight.fill_(((1 + layer) / n_layer) ** 0.7)

    @staticmethod
    def _ortho(rows, cols, scale):
        m = torch.empty(rows, cols)
        nn.init.orthogonal_(m)
        return m * scale

    def forward(self, u, v_first, chunk, prev_x, state):
        """prev_x (B,C): the previous token's input; state (B,H,N,N). Returns the output, v_first, the last input
        and the final state, so the next window continues the stream."""
        bsz, t_len, c = u.shape
        h, n = self.h, self.n
        d = torch.cat([prev_x.unsqueeze(1), u[:, :-1]], dim=1) - u       # previous position minus this one
        xr, xw, xk = u + d * self.x_r, u + d * self.x_w, u + d * self.x_k
        xv, xa, xg = u + d * self.x_v, u + d * self.x_a, u + d * self.x_g
        r, k, v = self.receptance(xr), self.key(xk), self.value(xv)
        z = self.w0 + torch.tanh(xw @ self.w1) @ self.w2
        lw = -DECAY_SCALE * torch.sigmoid(z)                             # log of the decay w
        a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
        g = torch.sigmoid(xg @ self.g1) @ self.g2
        kk = F.normalize((k * self.k_k).view(bsz, t_len, h, n), dim=-1, p=2.0, eps=1e-12)
        k = k * (1 + (a - 1) * self.k_a)
        if self.layer == 0:
            v_first = v
        else:
            v = v + (v_first - v) * torch.sigmoid(self.v0 + (xv @ self.v1) @ self.v2)
        hv = lambda x: x.view(bsz, t_len, h, n)
        r4, k4, v4 = hv(r), hv(k), hv(v)
        # Heads first for the chunked recurrence: (B,H,T,N).
        hf = lambda x: x.transpose(1, 2)
        rh, lwh, kh, vh, kkh, ah = hf(r4), hf(hv(lw)), hf(k4), hf(v4), hf(kk), hf(hv(a))
        ys = []
        for s in range(0, t_len, chunk):
            e = min(t_len, s + chunk)
            y, state = wkv_parallel(state, rh[:, :, s:e], lwh[:, :, s:e], kh[:, :, s:e], vh[:, :, s:e], kkh[:, :, s:e], ah[:, :, s:e])
            ys.append(y)
        y = torch.cat(ys, dim=2).transpose(1, 2)                         # (B,T,H,N)
        o = self.ln_x(y.reshape(bsz * t_len, c)).view(bsz, t_len, c)
        bonus = (r4 * k4 * self.r_k).sum(-1, keepdim=True) * v4
        o = o + bonus.reshape(bsz, t_len, c)
        return self.output(o * g), v_first, u[:, -1], state


class ChannelMix(nn.Module):
    def __init__(self, layer, n_layer, c, ffn):
        super().__init__()
        ratio_1_to_0 = 1.0 - layer / n_layer
        ddd = (torch.arange(c, dtype=torch.float32) / c).view(1, 1, c)
        self.x_k = nn.Parameter(1.0 - ddd.pow(ratio_1_to_0 ** 4))
        self.key = nn.Linear(c, ffn, bias=False)
        self.value = nn.Linear(ffn, c, bias=False)
        bound = 0.5 / math.sqrt(c)
        nn.init.uniform_(self.key.weight, -bound, bound)
        nn.init.zeros_(self.value.weight)

    def forward(self, u, prev_x):
        d = torch.cat([prev_x.unsqueeze(1), u[:, :-1]], dim=1) - u
        return self.value(torch.relu(self.key(u + d * self.x_k)) ** 2), u[:, -1]


class Block(nn.Module):
    def __init__(self, layer, n_layer, c, head_size, ffn):
        super().__init__()
        if layer == 0:
            self.ln0 = nn.LayerNorm(c)
        self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.att = TimeMix(layer, n_layer, c, head_size)
        self.ffn = ChannelMix(layer, n_layer, c, ffn)

    def forward(self, x, v_first, chunk, state):
        att_x, wkv, ffn_x = state
        dx, v_first, att_x, wkv = self.att(self.ln1(x), v_first, chunk, att_x, wkv)
        x = x + dx
        dx, ffn_x = self.ffn(self.ln2(x), ffn_x)
        return x + dx, v_first, (att_x, wkv, ffn_x)


class RWKV7(nn.Module):
    def __init__(self, vocab=256, n_layer=4, c=128, head_size=64, ffn=None):
        super().__init__()
        ffn = ffn or 4 * c
        self.emb = nn.Embedding(vocab, c)
        nn.init.uniform_(self.emb.weight, -1e-4, 1e-4)
        self.blocks = nn.ModuleList(Block(i, n_layer, c, head_size, ffn) for i in range(n_layer))
        self.ln_out = nn.LayerNorm(c)
        self.head = nn.Linear(c, vocab, bias=False)
        nn.init.normal_(self.head.weight, std=0.5 / math.sqrt(c))

    def zero_state(self, bsz):
        """Per layer: (att token shift (B,C), WKV state (B,H,N,N), ffn token shift (B,C)), as in the engine."""
        out = []
        for block in self.blocks:
            c, h, n = block.att.c, block.att.h, block.att.n
            out.append((torch.zeros(bsz, c), torch.zeros(bsz, h, n, n), torch.zeros(bsz, c)))
        return out

    def forward(self, idx, state=None, chunk=32):
        """Logits for every position, and the state after the last one (the next window of the stream starts there)."""
        state = state if state is not None else self.zero_state(idx.shape[0])
        x = self.blocks[0].ln0(self.emb(idx))
        v_first = None
        new_state = []
        for block, layer_state in zip(self.blocks, state):
            x, v_first, layer_state = block(x, v_first, chunk, layer_state)
            new_state.append(layer_state)
        return self.head(self.ln_out(x)), new_state

    def state_dict_official(self, dtype=torch.float16):
        """The official key layout (spec §2): contiguous tensors of `dtype`, looked up by name by the engine."""
        return {k: v.detach().to(dtype).contiguous().clone() for k, v in self.state_dict().items()}
