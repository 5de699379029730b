"""The project's own tools (the top layer, beside the command line): what the benchmarks and studies
share (:mod:`socsim.tools.benchmarking`) and the generated reference pages (``python -m socsim.tools.docgen``)."""
