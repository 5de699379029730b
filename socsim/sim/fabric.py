"""Shared resources: the system bus (width, arbitration, grants) and the SRAM ports.

With FIFO arbitration both are modelled as *reservations*: a request made at time t is granted at
max(t, when the resource is next free), in request order. SimPy runs processes in time order, so
this is exactly first-come-first-served, at one timeout per grant instead of a queue of events.
Priority arbitration keeps a SimPy ``PriorityResource``, since a later request may overtake.
"""

from __future__ import annotations

from typing import Generator

import simpy

from isa.spec import Space
from socsim.config.soc import Arbitration, SocConfig


class Fabric:
    """The bus and the on-chip SRAM ports."""

    def __init__(self, env: simpy.Environment, cfg: SocConfig):
        self.env, self.cfg = env, cfg
        self.priority_bus = (simpy.PriorityResource(env, capacity=1)
                             if cfg.bus.arbitration is Arbitration.PRIORITY else None)
        self.bus_free_at = 0
        self.port_free_at = [0] * cfg.sram.ports
        self.bus_busy_cycles = 0

    def timing_state(self, now: int) -> tuple:
        """When the bus and each SRAM port (in order of freeing) are next free, relative to cycle ``now`` (0: free)."""
        return max(self.bus_free_at - now, 0), tuple(sorted(max(p - now, 0) for p in self.port_free_at))

    def shift(self, cycles: int) -> None:
        """Move every reservation ``cycles`` later."""
        self.bus_free_at += cycles
        self.port_free_at = [t + cycles for t in self.port_free_at]

    def reserve_port(self, start: int, cycles: int) -> int:
        """Reserve the SRAM port that frees first for ``cycles`` from no earlier than ``start``; returns the start."""
        free = self.port_free_at
        i = free.index(min(free))  # the first of the ports that free earliest
        begin = start if start > free[i] else free[i]
        free[i] = begin + cycles
        return begin

    def move(self, nbytes: int, bytes_per_cycle: int, priority: int, uses_sram: bool, owner) -> Generator:
        """Move ``nbytes`` over the bus in grants of ``grant_bytes``; returns (bus beats, bus-busy cycles).

        ``owner`` (the DMA channel) notes each event it waits on and the bytes still to move (``left``).
        """
        bus = self.cfg.bus
        width, grant, overhead = bus.width_bytes, bus.grant_bytes, bus.grant_cycles
        rate = min(width, bytes_per_cycle)
        env = self.env
        beats = busy = 0
        owner.left = left = nbytes
        while left > 0:  # one bus grant per iteration
            chunk = grant if left > grant else left
            cycles = overhead + -(-chunk // rate)
            if self.priority_bus is not None:
                req = self.priority_bus.request(priority=priority)
                yield owner.wait(req)
                begin = self.reserve_port(env.now, cycles) if uses_sram else env.now
                yield owner.wait(env.timeout(begin + cycles - env.now))
                self.priority_bus.release(req)
            else:
                now = env.now
                begin = self.bus_free_at if self.bus_free_at > now else now
                if uses_sram:
                    begin = self.reserve_port(begin, cycles)
                end = self.bus_free_at = begin + cycles
                yield owner.wait(env.timeout(end - now))
            self.bus_busy_cycles += cycles
            busy += cycles
            beats += -(-chunk // width)
            owner.left = left = left - chunk
        return beats, busy


SRAM_SPACES = frozenset((Space.SRAM, Space.ACC))
"""The spaces behind the shared SRAM ports."""


def is_sram(space: Space) -> bool:
    """True for the spaces behind the shared SRAM ports."""
    return space in SRAM_SPACES
