"""The compiler's front ends: a TOML layer list (:mod:`socsim.compiler.frontend.toml`) or
an ONNX model (:mod:`socsim.compiler.frontend.onnx`, constants folded by :mod:`socsim.compiler.frontend.onnx_fold`)
to a ``Graph``."""
