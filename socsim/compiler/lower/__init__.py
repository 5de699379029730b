"""Lowering a mapped graph to the ISA programs (docs/compiler.md, "The parts"): ``lowering``
composes the parts (``network``, ``plan``, ``tensors``, ``errors``, ``blocks``, ``forward``, ``backward``, ``update``,
``calibrate``, ``pipelined``, ``compensate``, ``bnstats``), ``programs`` writes ``init``, ``train_epoch``,
``evaluate`` and ``calibrate`` with them (``compensate`` and ``bnstats`` write their own) and ``assembly`` assembles
the texts."""
