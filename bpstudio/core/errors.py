"""Exceptions a person can cause: each message names the node, port or value at fault."""


class BPStudioError(Exception):
    """Base of every error bpstudio raises on purpose."""


class GraphError(BPStudioError, ValueError):
    """An edit or a graph that does not make sense (cycle, unknown op, missing input, bad name)."""


class ParamError(GraphError):
    """A value that does not fit an op's typed parameter: the wrong type, out of range, or too
    large to use (the message names the parameter)."""


class WiringError(GraphError):
    """A wire refused by :meth:`Graph.connect_all`; ``index`` is its place in the list given."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


class ShapeError(GraphError):
    """Shapes that cannot meet, e.g. inner dimensions of a matmul that differ."""


class FeedError(GraphError):
    """A missing feed, or a feed whose shape or type does not match its input node."""


class FileFormatError(BPStudioError, ValueError):
    """A project file that cannot be read (or a project that cannot be written): the message
    names the entry, node or field at fault."""


class OnnxImportError(FileFormatError):
    """An ONNX model that cannot become a graph: an operator bpstudio does not build, several
    outputs, weights kept outside the file, an opset out of range, a model that fails the ONNX
    checker... The message names the node, tensor or input at fault."""
