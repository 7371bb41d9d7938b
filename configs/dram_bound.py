#!/usr/bin/env python3
"""The default chip with no flow-state cache and a slow flow-state memory (300 cycles to the
first data, 8 bytes per cycle, 8 requests in flight): every event's flow state comes from
external memory, so the lookup controller, not the cores, bounds throughput and latency.
Compare with configs/default.py to see what the cache buys.
"""
from sppsim_config import Chip


def build():
    chip = Chip()
    chip.lookup.cache_flows = 0
    chip.lookup.mem_latency = 300
    chip.lookup.mem_bytes_per_cycle = 8
    chip.lookup.mem_outstanding = 8
    return chip


if __name__ == "__main__":
    build().emit()
