"""sppsim chip configs in Python (standard library only).

One class per unit (units.py, generated from sppsim's C parameter tables), and ``Chip``, which
holds one of each. A config is a script that builds a Chip and emits it::

    from sppsim_config import Chip, Cluster
    chip = Chip()
    chip.cluster.cores = 4                  # checked at once against the table
    chip.set("lookup.mem_latency", 200)     # the same, by dotted name
    chip.emit()                             # the resolved config, as JSON on stdout

``build/sppsim --config my_chip.py`` runs the script and reads that JSON. A bad value raises
ConfigError naming the unit, key and allowed range: ``ipu.in_depth: 0 is out of range [1, 4096]``.
Checks that span units (routes vs chip.clusters, smc.buf_min <= smc.buf_max, ...) are the
binary's, reported when it loads the config.
"""
import json
import sys

from .params import Bool, ConfigError, Enum, Int, Param, Unit
from .units import *  # noqa: F401,F403 (the unit classes)
from .units import UNITS

__all__ = ["Chip", "ConfigError", "Param", "Int", "Bool", "Enum", "Unit", "UNITS"] + [
    u.__name__ for u in UNITS]

_BY_NAME = {u.unit_name: u for u in UNITS}


class Chip:
    """The whole chip: one attribute per unit, named as in ``--set UNIT.KEY`` (chip.ipu, ...).

    ``Chip(ipu=Ipu(in_depth=8), cluster={"cores": 4})`` sets units at construction (a unit
    object or a dict of its keys); ``Chip.from_dict`` reads a config JSON's object.
    """

    def __init__(self, **units):
        for cls in UNITS:
            object.__setattr__(self, cls.unit_name, cls())
        for name, value in units.items():
            self.set_unit(name, value)

    @staticmethod
    def unit_class(name):
        try:
            return _BY_NAME[name]
        except KeyError:
            raise ConfigError("unknown unit '%s' (units: %s)" % (
                name, ", ".join(_BY_NAME))) from None

    def set_unit(self, name, value):
        cls = self.unit_class(name)
        if isinstance(value, dict):
            value = cls(**value)
        elif not isinstance(value, cls):
            raise ConfigError("%s: expected a %s or a dict of its parameters" % (name, cls.__name__))
        object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        self.set_unit(name, value)

    def set(self, dotted, value):
        """Set one parameter by its ``unit.key`` name, as ``--set unit.key=value`` does."""
        unit, dot, key = dotted.partition(".")
        if not dot or not key:
            raise ConfigError("'%s' is not of the form unit.key" % dotted)
        self.unit_class(unit)
        getattr(self, unit).set(key, value)
        return self

    def get(self, dotted):
        unit, _, key = dotted.partition(".")
        self.unit_class(unit).param(key)
        return getattr(getattr(self, unit), key)

    def update(self, config):
        """Apply a config object ({"unit": {"key": value}}) or a flat {"unit.key": value}."""
        for name, value in config.items():
            if isinstance(value, dict):
                for key, v in value.items():
                    self.set(name + "." + key, v)
            else:
                self.set(name, value)
        return self

    @classmethod
    def from_dict(cls, config):
        return cls().update(config)

    def to_dict(self):
        """The resolved config: every unit and every parameter, as ``sppsim --print-config``."""
        return {cls.unit_name: getattr(self, cls.unit_name).to_dict() for cls in UNITS}

    def changed(self):
        """Only the parameters that differ from the defaults, as {"unit": {"key": value}}."""
        out = {}
        for cls in UNITS:
            diff = getattr(self, cls.unit_name).changed()
            if diff:
                out[cls.unit_name] = diff
        return out

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def emit(self, file=None):
        """Write the resolved config as JSON (to stdout: what ``sppsim --config X.py`` reads)."""
        (file or sys.stdout).write(self.to_json())

    def __eq__(self, other):
        return isinstance(other, Chip) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Chip(%s)" % ", ".join("%s=%r" % (u, v) for u, v in self.changed().items())


def _excepthook(kind, value, tb, _previous=sys.excepthook):
    """A ConfigError escaping a config script: one line, "script:line: message", on stderr
    (sppsim quotes the script's last stderr line as its own error)."""
    if not issubclass(kind, ConfigError):
        return _previous(kind, value, tb)
    where = ""
    import os
    import traceback
    here = os.path.dirname(os.path.abspath(__file__))
    for frame in traceback.extract_tb(tb):
        if not os.path.abspath(frame.filename).startswith(here + os.sep):
            where = "%s:%d: " % (frame.filename, frame.lineno)
    sys.stderr.write("%s%s\n" % (where, value))


sys.excepthook = _excepthook


def params():
    """Every parameter as ("unit.key", Param), in the binary's order."""
    return [(cls.unit_name + "." + name, p) for cls in UNITS for name, p in cls.params()]
