"""Parameter descriptors and the unit base class behind the generated unit classes.

A unit class (generated in units.py from sppsim's C parameter tables) declares each parameter
once as a class attribute: ``in_depth = Int(4, 1, 4096, "frames", "doc")``. Instances hold the
values; assigning checks the value against the table and raises ConfigError with the same
message sppsim gives (``ipu.in_depth: 0 is out of range [1, 4096]``).
"""


class ConfigError(ValueError):
    """A bad unit, key or value; the message names the unit and key."""


class Param:
    """One row of a C parameter table: default, bounds or choices, unit, one line of doc."""

    kind = "?"

    def __init__(self, default, unit, doc):
        self.default = default
        self.unit = unit
        self.doc = doc
        self.name = None  # set by __set_name__
        self.owner_unit = None

    def __set_name__(self, owner, name):
        self.name = name

    def full_name(self, obj_or_cls):
        return "%s.%s" % (obj_or_cls.unit_name, self.name)

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        return obj._values.get(self.name, self.default)

    def __set__(self, obj, value):
        obj._values[self.name] = self.check(obj, value)

    def range_text(self):
        raise NotImplementedError

    def check(self, obj, value):
        raise NotImplementedError

    def __repr__(self):
        return "%s(default=%r, range=%s, unit=%r)" % (type(self).__name__, self.default,
                                                      self.range_text(), self.unit)


class Int(Param):
    """A non-negative integer in [lo, hi]; strings are read as sppsim reads them (10 or 0x)."""

    kind = "int"

    def __init__(self, default, lo, hi, unit, doc):
        super().__init__(default, unit, doc)
        self.lo, self.hi = lo, hi

    def range_text(self):
        return "%d – %d" % (self.lo, self.hi)

    def check(self, obj, value):
        name = self.full_name(obj)
        text = value
        if isinstance(value, str):
            s = value.strip()
            try:
                value = int(s, 16) if s[:2].lower() == "0x" else int(s, 10)
            except ValueError:
                raise ConfigError("%s: '%s' is not a non-negative integer" % (name, text)) from None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError("%s: %r is not a non-negative integer" % (name, value))
        if value < 0:
            raise ConfigError("%s: '%s' is not a non-negative integer" % (name, text))
        if not self.lo <= value <= self.hi:
            raise ConfigError("%s: %s is out of range [%d, %d]" % (name, text, self.lo, self.hi))
        return value


class Bool(Param):
    """true or false (also "on"/"off", "1"/"0" as sppsim accepts them)."""

    kind = "bool"

    def range_text(self):
        return "true, false"

    def check(self, obj, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            v = value.lower()
            if v in ("true", "on", "1"):
                return True
            if v in ("false", "off", "0"):
                return False
        raise ConfigError("%s: '%s' is not a boolean (true or false)" % (self.full_name(obj), value))


class Enum(Param):
    """One of a fixed list of names."""

    kind = "enum"

    def __init__(self, default, choices, unit, doc):
        super().__init__(default, unit, doc)
        self.choices = tuple(choices)

    def range_text(self):
        return ", ".join(self.choices)

    def check(self, obj, value):
        if value not in self.choices:
            raise ConfigError("%s: '%s' is not one of: %s" % (self.full_name(obj), value,
                                                               ", ".join(self.choices)))
        return value


class Unit:
    """One unit's parameters. Subclasses (units.py) set ``unit_name`` and declare Params.

    ``Unit(key=value, ...)`` sets parameters at construction; an unknown key is an error naming
    the unit and the key, as is assigning an attribute that is not a parameter.
    """

    unit_name = "?"

    def __init__(self, **values):
        object.__setattr__(self, "_values", {})
        for key, value in values.items():
            self.set(key, value)

    @classmethod
    def params(cls):
        """The Param descriptors in table order, as (name, Param) pairs."""
        out = []
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, Param):
                    out.append((name, attr))
        return out

    @classmethod
    def param(cls, key):
        attr = vars(cls).get(key) if isinstance(key, str) else None
        if not isinstance(attr, Param):
            raise ConfigError("%s: unknown parameter '%s'" % (cls.unit_name, key))
        return attr

    def set(self, key, value):
        self.param(key).__set__(self, value)

    def __setattr__(self, key, value):
        self.set(key, value)

    def to_dict(self):
        """Every parameter's value (the default unless set), in table order."""
        return {name: getattr(self, name) for name, _ in self.params()}

    def changed(self):
        """Only the parameters that differ from the defaults."""
        return {n: v for n, v in self.to_dict().items() if v != self.param(n).default}

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __repr__(self):
        args = ", ".join("%s=%r" % kv for kv in self.changed().items())
        return "%s(%s)" % (type(self).__name__, args)
