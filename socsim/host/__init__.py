"""The host: the session around the chip that compiles graphs, loads data, runs the programs and writes run
folders. Its functions return data; only :mod:`socsim.cli` prints.

Modules: :mod:`~socsim.host.data` (datasets), :mod:`~socsim.host.baseline` (the numpy FP32 trainer),
:mod:`~socsim.host.training` (:class:`ChipTrainer`: the compiled programs on one SoC), :mod:`~socsim.host.train`
(a training run and its run folder), :mod:`~socsim.host.inference`, :mod:`~socsim.host.drift`,
:mod:`~socsim.host.inputs` (what a run folder's ``run.json`` names, loaded).
"""
