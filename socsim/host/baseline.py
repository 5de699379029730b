"""A plain numpy FP32 reference trainer of the same graph, data and seed: the baseline to compare with.

It shares nothing with the simulator but the graph and the initial weights (drawn exactly as the
compiled program declares them: ``uniform(-1/sqrt(rows), 1/sqrt(rows))`` with ``init_seed + k`` for
the k-th weight layer). Layout: activations (N, C, H, W); a conv weight is the (C*kh*kw, out)
crossbar matrix with rows in im2col order ``c*kh*kw + i*kw + j``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from socsim.compiler.graph import BatchNorm, Conv2d, Graph, Linear, SoftmaxCrossEntropy
from socsim.config.soc import SocConfig, TrainConfig
from socsim.host.data import Dataset, example_order

F32 = np.float32


def initial_weights(graph: Graph, seed: int) -> dict[str, np.ndarray]:
    """The initial crossbar matrix of every weight layer, as the lowering declares it."""
    out = {}
    for k, node in enumerate(graph.weight_nodes()):
        rows, cols = graph.weight_shape(node.name)
        bound = 1.0 / np.sqrt(rows)
        w = np.random.default_rng(seed + k).uniform(-float(bound), float(bound), rows * cols)
        out[node.name] = w.astype(F32).reshape(rows, cols)
    return out


def im2col(x: np.ndarray, layer: Conv2d) -> tuple[np.ndarray, int, int]:
    """(N, C, H, W) -> (N, OH*OW, C*kh*kw) patches, rows ordered (c, i, j)."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.empty((n, oh, ow, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            cols[:, :, :, :, i, j] = patch.transpose(0, 2, 3, 1)
    return cols.reshape(n, oh * ow, c * kh * kw), oh, ow


def col2im(cols: np.ndarray, layer: Conv2d, shape: tuple[int, ...]) -> np.ndarray:
    """Adjoint of :func:`im2col`: (N, OH*OW, C*kh*kw) -> (N, C, H, W), overlapping patches summed."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    n, c, h, w = shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    cols = cols.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
            out[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += patch
    return out[:, :, ph:ph + h, pw:pw + w]


@dataclass
class Baseline:
    """Forward, backward and optimizer of a sequential graph in numpy float32."""

    graph: Graph
    train: TrainConfig
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    step: int = 0
    bn_microbatch: int = 0
    """Images per batch-statistics group (0: the whole batch). The chip normalises each micro-batch by its own
    statistics and blends them into the running statistics once per micro-batch (docs/training.md); with the
    compiled micro-batch here, the baseline follows the same rule: each group's forward and backward pass on its
    own statistics, the gradients of the batch's mean loss summed over the groups."""

    def __post_init__(self) -> None:
        if not self.weights:
            self.weights = initial_weights(self.graph, self.train.init_seed)
        for node in self.graph.weight_nodes():
            if node.layer.bias:
                self.biases.setdefault(node.name, np.zeros(self.graph.weight_shape(node.name)[1], F32))
        self.bn: dict[str, np.ndarray] = {}
        self.bn_run: dict[str, np.ndarray] = {}
        for node in self.graph.nodes:
            if isinstance(node.layer, BatchNorm):
                c = self.graph.in_shapes(node.name)[0][0]
                self.bn[node.name] = np.stack([np.ones(c, F32), np.zeros(c, F32)])
                self.bn_run[node.name] = np.stack([np.zeros(c, F32), np.ones(c, F32)])
        params = {**self.weights, **{f"b:{k}": v for k, v in self.biases.items()},
                  **{f"bn:{k}": v for k, v in self.bn.items()}}
        self.state = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}

    def forward(self, x: np.ndarray, train: bool = False) -> dict[str, np.ndarray]:
        """Every node's activation for a batch ``x`` (N, *input shape), by node name (the loss excluded).

        BatchNorm uses the batch statistics (and updates its running statistics) when ``train``.
        """
        g = self.graph
        acts = {g.input.name: x.astype(F32).reshape(len(x), *g.input.layer.shape)}
        self.bn_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for node in g.nodes[1:]:
            layer = node.layer
            if isinstance(layer, SoftmaxCrossEntropy):
                break
            a = acts[node.inputs[0]]
            if isinstance(layer, Linear):
                y = self.layer_input(node, a.reshape(len(a), -1)) @ self.forward_weight(node.name)
                y = y + self.biases[node.name] if layer.bias else y
            elif isinstance(layer, Conv2d):
                cols, oh, ow = im2col(a, layer)
                y = self.layer_input(node, cols) @ self.forward_weight(node.name)
                if layer.bias:
                    y = y + self.biases[node.name]
                y = y.transpose(0, 2, 1).reshape(len(a), -1, oh, ow)
            elif isinstance(layer, BatchNorm):
                y = self._bn_forward(node, a, train)
            else:  # a layer of the digital unit: its numpy twin
                y = layer.numpy_forward([acts[i] for i in node.inputs])
            acts[node.name] = y.astype(F32)
        return acts

    def _bn_forward(self, node, a: np.ndarray, train: bool) -> np.ndarray:
        layer = node.layer
        x = a.reshape(len(a), a.shape[1], -1)
        gamma, beta = (v[:, None] for v in self.bn[node.name])
        run_mean, run_var = self.bn_run[node.name]
        if train:
            mean = x.mean(axis=(0, 2), dtype=F32)
            var = ((x - mean[:, None]) ** 2).mean(axis=(0, 2), dtype=F32)
            inv = F32(1) / np.sqrt(var + F32(layer.eps))
            xhat = (x - mean[:, None]) * inv[:, None]
            count = x.shape[0] * x.shape[2]
            mom = F32(layer.momentum)
            run_mean[:] = (F32(1) - mom) * run_mean + mom * mean
            run_var[:] = (F32(1) - mom) * run_var + mom * var * F32(count / max(count - 1, 1))
            self.bn_cache[node.name] = (xhat, inv)
            y = gamma * xhat + beta
        else:
            y = gamma / np.sqrt(run_var[:, None] + F32(layer.eps)) * (x - run_mean[:, None]) + beta
        return y.reshape(a.shape)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[self.graph.nodes[-1].inputs[0]]

    def gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy loss and the gradient of every weight (``b:NAME`` biases, ``bn:NAME`` gamma/beta),
        BatchNorm on the statistics of each ``bn_microbatch`` images (of the whole batch when 0)."""
        m = self.bn_microbatch
        if not self.bn or m <= 0 or m >= len(x):
            return self.group_gradients(x, labels, len(x))
        loss, grads = 0.0, {}
        for s in range(0, len(x), m):
            part_loss, part = self.group_gradients(x[s:s + m], labels[s:s + m], len(x))
            loss += part_loss * len(x[s:s + m]) / len(x)
            for key, g in part.items():
                grads[key] = grads[key] + g if key in grads else g
        return loss, grads

    def group_gradients(self, x: np.ndarray, labels: np.ndarray, batch: int) -> tuple[float, dict[str, np.ndarray]]:
        """The mean loss of the images ``x`` and their share of the gradients of a ``batch``-image batch's mean
        loss (the loss gradient divided by ``batch``), BatchNorm on the statistics of ``x``."""
        g_ = self.graph
        acts = self.forward(x, train=True)
        logits_name = g_.nodes[-1].inputs[0]
        z = acts[logits_name]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        n = len(z)
        loss = float(-np.log(p[np.arange(n), labels] + 1e-30).mean())
        gl = p.copy()
        gl[np.arange(n), labels] -= 1
        grad_of: dict[str, np.ndarray] = {logits_name: (gl / F32(batch)).astype(F32)}
        grads: dict[str, np.ndarray] = {}

        def add(name: str, value: np.ndarray) -> None:
            grad_of[name] = grad_of[name] + value if name in grad_of else value.astype(F32)

        for node in reversed(g_.nodes[1:-1]):
            if node.name not in grad_of:
                continue
            g = grad_of[node.name]
            layer, inp = node.layer, node.inputs[0]
            a_in, a_out = acts[inp], acts[node.name]
            if isinstance(layer, Linear):
                g_w, g_x = self.layer_errors(node, g)
                grads[node.name] = a_in.reshape(n, -1).T @ g_w
                if layer.bias:
                    grads[f"b:{node.name}"] = g_w.sum(axis=0)
                add(inp, (g_x @ self.backward_weight(node.name).T).reshape(a_in.shape))
            elif isinstance(layer, Conv2d):
                cols, oh, ow = im2col(a_in, layer)
                g_w, g_x = self.layer_errors(node, g)
                gcol = g_w.reshape(n, g.shape[1], -1).transpose(0, 2, 1)  # (N, P, C)
                grads[node.name] = np.einsum("npr,npc->rc", cols, gcol).astype(F32)
                if layer.bias:
                    grads[f"b:{node.name}"] = gcol.sum(axis=(0, 1))
                gcol_x = g_x.reshape(n, g.shape[1], -1).transpose(0, 2, 1)
                add(inp, col2im(gcol_x @ self.backward_weight(node.name).T, layer, a_in.shape))
            elif isinstance(layer, BatchNorm):
                xhat, inv = self.bn_cache[node.name]
                dy = g.reshape(xhat.shape)
                gamma = self.bn[node.name][0]
                s_dy, s_dyx = dy.sum(axis=(0, 2)), (dy * xhat).sum(axis=(0, 2))
                grads[f"bn:{node.name}"] = np.stack([s_dyx, s_dy]).astype(F32)
                count = F32(xhat.shape[0] * xhat.shape[2])
                dx = (gamma * inv / count)[:, None] * (count * dy - s_dy[:, None] - xhat * s_dyx[:, None])
                add(inp, dx.reshape(a_in.shape).astype(F32))
            else:  # a layer of the digital unit: its numpy twin
                for name, g_in in zip(node.inputs, layer.numpy_backward([acts[i] for i in node.inputs], a_out, g)):
                    if g_in is not None:
                        add(name, g_in)
        return loss, grads

    # ---- hooks of a baseline with quantisers (socsim.host.baseline_quant); FP32 here ------------------------------
    def layer_input(self, node, a: np.ndarray) -> np.ndarray:
        """What a weight layer multiplies: its input ``a`` (rows of the weight's row dimension)."""
        return a

    def forward_weight(self, name: str) -> np.ndarray:
        """The weight matrix the forward pass (and the input gradient) uses."""
        return self.weights[name]

    def backward_weight(self, name: str) -> np.ndarray:
        """The weight matrix the input gradient uses."""
        return self.forward_weight(name)

    def layer_errors(self, node, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A weight layer's output gradient as (the copy for dL/dW, the copy for dL/dX)."""
        return g, g

    def apply(self, grads: dict[str, np.ndarray]) -> None:
        """One optimizer step (AdamW or SGD with momentum) on every weight and bias."""
        t = self.train
        self.step += 1
        for key, grad in grads.items():
            kind, _, name = key.rpartition(":")
            param = {"b": self.biases, "bn": self.bn, "": self.weights}[kind][name]
            m, v = self.state[key]
            if t.optimizer == "adamw":
                m[:] = F32(t.beta1) * m + F32(1 - t.beta1) * grad
                v[:] = F32(t.beta2) * v + F32(1 - t.beta2) * grad * grad
                m_hat = m / F32(1 - t.beta1 ** self.step)
                v_hat = v / F32(1 - t.beta2 ** self.step)
                param += -F32(t.lr) * (m_hat / (np.sqrt(v_hat) + F32(t.eps)) + F32(t.weight_decay) * param)
            else:
                m[:] = F32(t.momentum) * m + grad + F32(t.weight_decay) * param
                param += -F32(t.lr) * m

    def train_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One pass over the data in order, batches of ``train.batch`` (a last partial batch is dropped)."""
        losses = []
        for b in range(len(x) // self.train.batch):
            sl = slice(b * self.train.batch, (b + 1) * self.train.batch)
            loss, grads = self.gradients(x[sl], y[sl])
            self.apply(grads)
            losses.append(loss)
        return float(np.mean(losses))

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((np.argmax(self.logits(x), axis=1) == y).mean())


def trained_baseline(graph: Graph, cfg: SocConfig, data: Dataset, epochs: int) -> Baseline:
    """The numpy FP32 baseline after ``epochs`` epochs on ``data``'s training images in ``socsim train``'s example
    order (socsim.host.data.example_order)."""
    base = Baseline(graph, cfg.train)
    n = len(data.y_train)
    for e in range(epochs):
        idx = example_order(cfg.seed, e, n)
        base.train_epoch(data.x_train[idx], data.y_train[idx])
    return base
