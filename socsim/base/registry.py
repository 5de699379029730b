"""Registries derived from classes: a family's base class enters each subclass that names itself."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T", bound=type)


def register(registry: dict[str, T], cls: T, key: str, family: str) -> None:
    """Enter ``cls`` in ``registry`` under its own class attribute ``key`` (set on the class itself, not inherited;
    a class without one, an abstract base, is not entered). ``family`` names the registry in the error when the name
    is taken (``"ADC kind"``, ``"array model"``, ``"layer type"``)."""
    name = cls.__dict__.get(key)
    if not name:
        return
    if name in registry:
        raise TypeError(f"{family} {name!r} of {cls.__qualname__} is already {registry[name].__qualname__}'s")
    registry[name] = cls
