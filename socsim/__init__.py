"""socsim: a cycle-level, event-driven simulator of a compute-in-memory SoC that trains networks."""

__version__ = "0.1.0"
