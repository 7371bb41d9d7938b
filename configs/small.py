#!/usr/bin/env python3
"""A small chip: one cluster of 2 cores running every TCP event type, a 256-record flow-state
cache, 4096 flows, 256 KiB of scratchpad and 8192 socket-buffer pages.

For quick runs and for seeing back-pressure (stall_* counters) on the bundled traces.
"""
from sppsim_config import Chip


def build():
    chip = Chip()
    chip.chip.clusters = 1
    chip.cluster.cores = 2
    for name, _ in chip.route.params():  # everything that had a cluster goes to cluster 0
        if getattr(chip.route, name):
            setattr(chip.route, name, 1)
    chip.dispatcher.flows = 4096
    chip.lookup.cache_flows = 256
    chip.lookup.slots = 64
    chip.scratchpad.capacity = 256 * 1024
    chip.smc.pages = 8192
    return chip


if __name__ == "__main__":
    build().emit()
