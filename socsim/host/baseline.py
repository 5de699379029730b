"""A plain numpy FP32 reference trainer of the same graph, data and seed: the baseline to compare with.

It shares nothing with the simulator but the graph and the initial weights (drawn exactly as the
compiled program declares them: ``uniform(-1/sqrt(rows), 1/sqrt(rows))`` with ``init_seed + k`` for
the k-th weight layer). Layout: activations (N, C, H, W); a conv weight is the (C*kh*kw, out)
crossbar matrix with rows in im2col order ``c*kh*kw + i*kw + j``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from socsim.compiler.graph import Graph, ParamLayer, SoftmaxCrossEntropy
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
        self.bn: dict[str, np.ndarray] = {}
        """Per batch norm, (2, C): gamma, beta."""
        self.bn_run: dict[str, np.ndarray] = {}
        """Per batch norm, (2, C): running mean, running variance."""
        self.other: dict[str, dict[str, np.ndarray]] = {}
        """The tables of trainable parameters of other kinds, by gradient key prefix (a layer type's ``numpy_setup``
        adds its own)."""
        for node in self.graph.nodes:  # each layer with parameters enters its own (ParamLayer.numpy_setup)
            if isinstance(node.layer, ParamLayer):
                node.layer.numpy_setup(self, node.name, self.graph.in_shapes(node.name)[0])
        params = {f"{kind}:{k}" if kind else k: v for kind, table in self.tables.items() for k, v in table.items()}
        self.state = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}

    @property
    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Every trainable parameter by its gradient key's prefix (``b:NAME``, ``bn:NAME``; the weights none), then
        by node."""
        return {"": self.weights, "b": self.biases, "bn": self.bn, **self.other}

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
            if isinstance(layer, ParamLayer):  # its own numpy twin, on the parameters kept here
                y = layer.numpy_run(self, node, acts[node.inputs[0]], train)
            else:  # a layer of the digital unit: its numpy twin
                y = layer.numpy_forward([acts[i] for i in node.inputs])
            acts[node.name] = y.astype(F32)
        return acts

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
            if isinstance(layer, ParamLayer):  # its own numpy twin: its parameters' gradients, its input's
                add(inp, layer.numpy_gradients(self, node, a_in, g, grads))
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
            param = self.tables[kind][name]
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
