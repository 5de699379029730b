"""The numeric environment a run's numbers depend on: numpy, the BLAS library (its version and the kernel it picked
for this CPU), numba and the CPU model (docs/reliability.md, "What is identical where").

The same config, seed and numeric environment give the same numbers bit for bit; another BLAS kernel (OpenBLAS's
Haswell against SkylakeX, say) rounds matrix products differently, and a training run's accuracy then differs as
runs with another seed do. ``run.json`` records :func:`environment_text`, ``socsim --version`` prints it and
``socsim train --resume`` warns when it changed. The thread count is left out: the numbers do not depend on it.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
from threadpoolctl import threadpool_info


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``), or ``unknown``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _numpy_blas(libraries: list[dict]) -> list[dict]:
    """The BLAS libraries numpy itself carries (in its package or its wheel's ``numpy.libs``), when found; else all
    of them. Other packages' copies (scipy's, loaded when scikit-learn is imported for the digits dataset) do not
    compute socsim's numbers, and listing them would make the record depend on what was imported first."""
    home = Path(np.__file__).resolve().parent
    places = (home, home.parent / "numpy.libs")
    own = [lib for lib in libraries
           if any(place in Path(lib.get("filepath", "")).resolve().parents for place in places)]
    return own or libraries


def blas_libraries() -> list[str]:
    """The BLAS library numpy uses: ``openblas 0.3.27 (kernel SkylakeX)``; from threadpoolctl."""
    out = []
    for lib in _numpy_blas([lib for lib in threadpool_info() if lib.get("user_api") == "blas"]):
        kernel = lib.get("architecture")
        out.append(f"{lib.get('internal_api', '?')} {lib.get('version') or '?'}" + (f" (kernel {kernel})" if kernel
                                                                                   else ""))
    return out or ["none found"]


@lru_cache(maxsize=1)
def environment_text() -> str:
    """One line: ``numpy 1.26.4; BLAS openblas 0.3.27 (kernel SkylakeX); numba 0.59.1; CPU <model>``."""
    return (f"numpy {np.__version__}; BLAS {', '.join(blas_libraries())}; numba {numba.__version__}; "
            f"CPU {cpu_model()}")


def environment_change(saved: str | None) -> str | None:
    """A warning when ``saved`` (a run's recorded environment) differs from this one; None when equal or unknown."""
    now = environment_text()
    if saved is None or saved == now:
        return None
    return (f"the numeric environment changed since the run started: it ran with [{saved}], this process has "
            f"[{now}]; the resumed epochs can differ from an uninterrupted run as another seed would "
            "(docs/reliability.md)")
