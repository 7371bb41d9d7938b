#!/usr/bin/env python3
"""A large chip: 4 clusters of 16 cores (clusters 0-1 the receive side, 2-3 the host and
core-generated side), 1M flows with a 64K-record flow-state cache, 16 MiB of scratchpad, a
wider and deeper flow-state memory and 1M socket-buffer pages.
"""
from sppsim_config import Chip


def build():
    chip = Chip()
    chip.chip.clusters = 4
    chip.cluster.cores = 16
    for name, _ in chip.route.params():
        mask = getattr(chip.route, name)  # 1: receive side, 2: send side, 0: none
        setattr(chip.route, name, {0: 0, 1: 0b0011, 2: 0b1100}[mask])
    chip.dispatcher.flows = 1 << 20
    chip.dispatcher.pending = 1 << 16
    chip.lookup.cache_flows = 1 << 16
    chip.lookup.slots = 1024
    chip.lookup.mem_bytes_per_cycle = 32
    chip.lookup.mem_outstanding = 64
    chip.scratchpad.capacity = 16 << 20
    chip.smc.pages = 1 << 20
    chip.smc.mem_outstanding = 64
    return chip


if __name__ == "__main__":
    build().emit()
