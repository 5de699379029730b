"""The Python API (the sweeps' layer): ``socsim.compile``, ``run``, ``train`` and ``infer`` live in
:mod:`socsim.api.functions`; ``import socsim`` hands them on."""
