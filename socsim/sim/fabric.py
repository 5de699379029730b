"""Shared resources: the system bus (width, arbitration, grants) and the SRAM ports."""

from __future__ import annotations

from typing import Generator

import simpy

from isa.spec import Space
from socsim.config import Arbitration, SocConfig


class Fabric:
    """The bus and the on-chip SRAM ports, as SimPy resources owned here."""

    def __init__(self, env: simpy.Environment, cfg: SocConfig):
        self.env, self.cfg = env, cfg
        if cfg.bus.arbitration is Arbitration.PRIORITY:
            self.bus: simpy.Resource = simpy.PriorityResource(env, capacity=1)
        else:
            self.bus = simpy.Resource(env, capacity=1)
        self.sram_ports = simpy.Resource(env, capacity=cfg.sram.ports)
        self.bus_busy_cycles = 0

    def bus_request(self, priority: int) -> simpy.Event:
        if isinstance(self.bus, simpy.PriorityResource):
            return self.bus.request(priority=priority)
        return self.bus.request()

    def move(self, nbytes: int, bytes_per_cycle: int, priority: int, uses_sram: bool) -> Generator:
        """Move ``nbytes`` over the bus in grants of ``grant_bytes``; returns bus beats used."""
        bus = self.cfg.bus
        rate = min(bus.width_bytes, bytes_per_cycle)
        beats = 0
        left = nbytes
        while left > 0:
            chunk = min(left, bus.grant_bytes)
            cycles = bus.grant_cycles + -(-chunk // rate)
            req = self.bus_request(priority)
            yield req
            port = self.sram_ports.request() if uses_sram else None
            if port is not None:
                yield port
            yield self.env.timeout(cycles)
            if port is not None:
                self.sram_ports.release(port)
            self.bus.release(req)
            self.bus_busy_cycles += cycles
            beats += -(-chunk // bus.width_bytes)
            left -= chunk
        return beats


def is_sram(space: Space) -> bool:
    """True for the spaces behind the shared SRAM ports."""
    return space in (Space.SRAM, Space.ACC)
