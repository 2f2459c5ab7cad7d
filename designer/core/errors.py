"""Typed errors of the core. Each carries a sentence meant for a person."""


class DesignError(Exception):
    """Base of every error the core raises on purpose."""


class UnknownLayerError(DesignError):
    """A layer or block type that the registry does not know."""


class ParamError(DesignError):
    """A parameter value of the wrong type or outside its range."""


class NodeNameError(DesignError, ValueError):
    """A node name that is not valid or is already taken."""


class UnknownNodeError(DesignError, KeyError):
    """A node id that is not in the graph."""
    __str__ = Exception.__str__   # a sentence, not KeyError's quoted repr


class PortError(DesignError):
    """A connection to a port that does not exist or is already taken."""


class CycleError(DesignError):
    """A connection that would close a cycle (or a node that lies on one)."""
    REASON = "a network must flow one way"


class ShapeError(DesignError):
    """Raised by shape rules; the inference engine turns it into an error on the node."""


class CompileError(DesignError):
    """The graph cannot be compiled (it has errors, or names collide)."""


class DesignFileError(DesignError):
    """A design file that cannot be read; the message names the offending field."""


class WriteTargetError(DesignError):
    """A path that cannot be written as a file: a folder, a device, a FIFO or a socket."""
