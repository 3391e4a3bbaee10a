"""The exceptions graphc raises. Every message names what was expected, what came, and where."""


class GraphcError(Exception):
    """Base class of every error graphc raises on purpose."""


class ShapeError(GraphcError, ValueError):
    """A tensor's shape disagrees with what a layer, op or compiled program expects."""


class NotConstantError(ShapeError):
    """An op input that must be known at compile time (a shape, axes, pads) is computed at run time.
    ``value`` names the graph value."""

    def __init__(self, message, value=None):
        super().__init__(message)
        self.value = value


class DTypeError(GraphcError, ValueError, TypeError):
    """A tensor's dtype cannot be used where it was given."""


class GraphError(GraphcError, ValueError):
    """The IR graph breaks an invariant (raised by ``Graph.verify`` and by passes)."""


class UnsupportedOpError(GraphcError, NotImplementedError):
    """An op type, attribute or dtype has no implementation in graphc."""


class SerializationError(GraphcError, ValueError):
    """A file could not be read or written as the format requires."""


class CompileError(GraphcError, RuntimeError):
    """Code generation or native compilation failed."""
