"""socsim: a cycle-level, event-driven simulator of a compute-in-memory SoC that trains networks.

The notebook API (docs/api.md): ``socsim.compile(graph, config)``, ``socsim.run(program, config)``,
``socsim.train(graph, ...)`` and ``socsim.infer(graph, ...)``, each returning an object with ``.tables()`` and
``.figures()`` (socsim.api.functions, imported on first use so that the command line starts fast).
"""

__version__ = "0.1.0"
API = ("compile", "run", "train", "infer")


def __getattr__(name: str):
    if name in API:
        from socsim.api import functions as api
        return getattr(api, name)
    raise AttributeError(f"module 'socsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
