#!/usr/bin/env python3
"""The default chip: every parameter at its table default (the same as configs/default.json).

2 clusters of 8 cores at 1 GHz; cluster 0 runs the receive side (network TCP types and
timers), cluster 1 the host and core-generated types. `build/sppsim --config configs/default.py`.
"""
from sppsim_config import Chip


def build():
    return Chip()


if __name__ == "__main__":
    build().emit()
